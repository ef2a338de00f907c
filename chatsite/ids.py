"""Database ids from user input (URLs, forms, socket frames)."""

from .errors import InvalidInput

MAX_ID = 2**63  # a bigint; a longer number is "not found", never an overflow error


def parse_id(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < MAX_ID else None


def require_id(value) -> int:
    number = parse_id(value)
    if number is None:
        raise InvalidInput("That is not a valid reference.")
    return number
