"""A fixed-window counter in the shared cache (Redis in production, so limits hold across processes)."""

import re
import time
from functools import lru_cache

from django.utils.translation import gettext as _

from .counters import increment
from .errors import RateLimited

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"(\d+)/(\d*)([smhd])")


def parse_rate(rate: str) -> tuple[int, int]:
    """"30/10s" -> (30 requests, 10 seconds); "5/m" -> (5, 60). Anything else raises ValueError
    (chatsite.checks reports a bad rate setting at start with this message)."""
    if not isinstance(rate, str):
        raise ValueError(_NOT_A_RATE % {"rate": repr(rate)})
    return _parse_rate(rate)


_NOT_A_RATE = '%(rate)s is not a rate: write a count per window, e.g. "30/10s", "5/m" or "100/h" (units: s, m, h, d)'


@lru_cache(maxsize=256)  # every rate-limited action parses its rate
def _parse_rate(rate: str) -> tuple[int, int]:
    match = _RATE.fullmatch(rate)
    if match is None:
        raise ValueError(_NOT_A_RATE % {"rate": repr(rate)})
    count, digits, unit = match.groups()
    if int(count) < 1 or (digits and int(digits) < 1):
        raise ValueError(f"{rate!r} is not a rate: the count and the window must be at least 1")
    return int(count), int(digits or 1) * _UNITS[unit]


def hit(scope: str, key: object, rate: str, message: str | None = None) -> None:
    """Count one more ``scope`` action of ``key``; RateLimited (with ``message``, already translated) past the rate."""
    limit, window = parse_rate(rate)
    now = time.time()
    bucket = int(now // window)
    if increment(f"rl:{scope}:{key}:{bucket}", timeout=window + 1) > limit:
        error = RateLimited(message or _("You are doing that too often. Please wait a moment."))
        error.retry_after = max(1, int((bucket + 1) * window - now + 0.999))  # the window's end
        raise error
