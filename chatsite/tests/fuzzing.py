"""Hostile values for the fuzz tests (HTTP and socket), from a seeded generator.

Seeded, not random per run: a failure repeats with the same seed (printed with the counts). Set
FUZZ_SEED to explore other sequences and FUZZ_EXAMPLES to send more per target.
"""

import logging
import os
import random

SEED = int(os.environ.get("FUZZ_SEED", "20240610"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))

HUGE_NUMBERS = ["99999999999999999999", str(2**63), str(2**63 - 1), str(2**64), "9" * 400, "0", "00000000001",
                "-1", "-99999999999999999999"]
ODD_NUMBERS = ["1e400", "-1e400", "NaN", "nan", "Infinity", "-Infinity", "inf", "1.5", "1.0", "0x10", "1_000",
               "١٢", " 1 ", "+1", "1e3", "", "null", "true", "[]", "{}"]
TEXTS = ["", " ", "\x00", "a\x00b", "\x00" * 64, "\ud800", "x\udfffy", "\x1b[31mred", "\r\n\r\n", "\u202egnp.exe",
         "😀" * 200, "a" * 5_000, "é" * 70_000, "<script>alert(1)</script>", "{{ 7|add:7 }}", "%s%s%n",
         "' OR 1=1 --", "../../etc/passwd", "[" * 5_000 + "]" * 5_000, '{"a":' * 500 + "1" + "}" * 500,
         "\\", "@", "@all @everyone", "\t", "\u0085\u2028\u2029", "\ufeff", "\U0010ffff"]
NEXTS = ["foo", "people", "//evil.example", "https://evil.example/", "javascript:alert(1)", "/\\evil.example",
         "\x00", "/people/", "http://testserver/chats/", "/%0d%0aSet-Cookie:x=1", "data:text/html,x", "\\\\evil",
         "///evil.example", "http://testserver:99/", "https://testserver/", " /people/", "/\x00/"]


def make_random(label: str) -> random.Random:
    return random.Random(f"{SEED}:{label}")


NUMERIC_NAMES = {"members", "new_owner", "seq", "before", "after", "offset", "reply_to", "pk", "conversation", "after_seq"}


def _kind(name: str) -> list[str]:
    if name == "next":
        return NEXTS
    if name.endswith("id") or name in NUMERIC_NAMES:
        return HUGE_NUMBERS + ODD_NUMBERS
    return TEXTS


def worst_value(name: str) -> str:
    """The value of the field's kind that broke something once: a bare word as a redirect target,
    a number beyond any id, a NUL."""
    kind = _kind(name)
    return "foo" if kind is NEXTS else "a\x00b" if kind is TEXTS else "99999999999999999999"


def hostile_scalar(rng: random.Random, name: str | None = None) -> str:
    """A hostile value; given the field's name, most often one of the kind that field takes."""
    if name is not None and rng.random() < 0.75:
        return rng.choice(_kind(name))
    pool = rng.choice((HUGE_NUMBERS, ODD_NUMBERS, TEXTS, NEXTS))
    return rng.choice(pool)


class ErrorRecords(logging.Handler):
    """Every log record at ERROR or above, and every record carrying a traceback, of any logger."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def __enter__(self):
        root = logging.getLogger()
        self._level = root.level
        root.addHandler(self)
        root.setLevel(min(root.level or logging.WARNING, logging.WARNING))
        return self

    def __exit__(self, *exc):
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self._level)

    def unexpected(self) -> list[logging.LogRecord]:
        """Records other than Django's security refusals (a 400 by design, e.g. a redirect too long)."""
        return [r for r in self.records if not r.name.startswith("django.security")]

    @staticmethod
    def describe(records, limit: int = 10) -> str:
        lines = []
        for record in records[:limit]:
            lines.append(f"{record.name}: {record.getMessage()[:300]}")
            if record.exc_info:
                import traceback

                lines.append("".join(traceback.format_exception(*record.exc_info))[-1500:])
        return "\n".join(lines)


def report(record_property, name: str, counts: dict) -> None:
    """Hand the counts to the terminal summary (conftest.py prints them, also under xdist)."""
    record_property("fuzz_counts", f"{name}: {counts}")
    print(f"{name}: {counts}")
