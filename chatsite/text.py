"""Text from outside (forms, socket frames, query strings), made safe to store once, for both engines.

PostgreSQL refuses a NUL character in text (DataError) and no UTF-8 encoder takes a lone surrogate
(UnicodeEncodeError, which JSON's "\\ud800" escape produces); SQLite stores both and a page then
fails to render them. Every service cleans the text it is given with ``clean_text``, so the two
engines answer alike and nothing half-valid is stored.
"""

import re

from django.utils.translation import gettext as _

from .errors import ErrorCode, InvalidInput

# NUL and the other C0 controls but tab and newline; lone surrogates.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def strip_unsafe(value: str) -> str:
    """Drop control characters (tab and newline stay) and replace lone surrogates with U+FFFD."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if _SURROGATES.search(value):
        value = _SURROGATES.sub("\ufffd", value)
    return _CONTROLS.sub("", value)


def clean_text(value, *, max_length: int, what: str, required: bool = False, multiline: bool = False,
               field: str | None = None) -> str:
    """``value`` as safe, stripped text, or InvalidInput naming ``what`` (e.g. "A message").

    Single-line text (names, titles) also has its runs of whitespace folded into one space."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(_("%(what)s must be text.") % {"what": what}, field=field)
    value = strip_unsafe(value)
    value = value.strip() if multiline else " ".join(value.split())
    if required and not value:
        raise InvalidInput(_("%(what)s needs some text.") % {"what": what}, code=ErrorCode.EMPTY, field=field)
    if len(value) > max_length:
        raise InvalidInput(
            _("%(what)s can be at most %(max)s characters long (this one has %(length)s).")
            % {"what": what, "max": f"{max_length:,}", "length": f"{len(value):,}"},
            code=ErrorCode.TOO_LONG, field=field)
    return value
