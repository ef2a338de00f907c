"""Database ids from user input (URLs, forms, socket frames)."""

from django.urls import register_converter
from django.utils.translation import gettext as _

from .errors import InvalidInput

MAX_ID = 2**63  # a bigint; a longer number is "not found", never an overflow error


def parse_id(value) -> int | None:
    """``value`` as an id in the database's range, or None. Whole numbers and text of ASCII digits
    count; booleans, fractions, NaN, infinities, "1_000" and other scripts' digits do not."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        return None
    if isinstance(value, str) and not (value.strip().isdigit() and value.isascii()):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number < MAX_ID else None


def require_id(value) -> int:
    number = parse_id(value)
    if number is None:
        raise InvalidInput(_("That is not a valid reference."))
    return number


class IdConverter:
    """``<id:name>`` in a URL: digits that fit the database. A longer number matches no URL (404)
    instead of reaching a query that overflows."""

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValueError("not an id in range")  # Django answers: this URL does not match
        return number

    def to_url(self, value) -> str:
        # Templates reverse with 0 as a placeholder the page's script fills in: no range check here.
        return str(int(value))


register_converter(IdConverter, "id")
