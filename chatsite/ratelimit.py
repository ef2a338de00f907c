"""A fixed-window counter in the shared cache (Redis in production, so limits hold across processes)."""

import time

from .counters import increment
from .errors import RateLimited

_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_rate(rate: str) -> tuple[int, int]:
    """"30/10s" -> (30 requests, 10 seconds); "5/m" -> (5, 60)."""
    count, period = rate.split("/")
    digits = "".join(ch for ch in period if ch.isdigit()) or "1"
    return int(count), int(digits) * _UNITS[period[-1]]


def hit(scope: str, key: object, rate: str, message: str = "You are doing that too often. Please wait a moment.") -> None:
    limit, window = parse_rate(rate)
    bucket = int(time.time() // window)
    if increment(f"rl:{scope}:{key}:{bucket}", timeout=window + 1) > limit:
        raise RateLimited(message)
