"""Small helpers the account tests share: reading codes from mail, page text, TOTP, images."""

import base64
import hashlib
import hmac
import html
import io
import re
import struct
from contextlib import contextmanager
from unittest import mock

from PIL import Image

# allauth's user codes look like "SKFD-RDBR" (login, reset, email verification).
CODE_RE = re.compile(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", re.M)


def code_from_mail(message) -> str:
    """The one-time code in an email, as the user would copy it."""
    found = CODE_RE.findall(message.body)
    assert len(found) == 1, f"expected exactly one code in the mail, got {found!r}:\n{message.body}"
    return found[0]


def wrong_code(code: str) -> str:
    """A well-formed code that is certainly not ``code``."""
    replacement = "A" if code[0] != "A" else "B"
    return replacement + code[1:]


def page_text(response) -> str:
    """What a person reads on the page: tags dropped, entities decoded, whitespace collapsed."""
    body = response.content.decode()
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S | re.I)
    body = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", html.unescape(body)).strip()


@contextmanager
def travel(module: str, seconds: float):
    """Move ``time.time()`` forward by ``seconds`` as seen from ``module`` only."""
    import time as real_time

    fake = mock.Mock(wraps=real_time)
    fake.time = lambda: real_time.time() + seconds
    with mock.patch(f"{module}.time", fake):
        yield


@contextmanager
def freeze(module: str, at: float):
    """Stop ``time.time()`` at ``at`` as seen from ``module`` only."""
    import time as real_time

    fake = mock.Mock(wraps=real_time)
    fake.time = lambda: at
    with mock.patch(f"{module}.time", fake):
        yield


def totp_now(secret_b32: str, at: float, *, period: int = 30, digits: int = 6) -> str:
    """RFC 6238 TOTP (HMAC-SHA1), computed independently of allauth."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // period), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def image_bytes(fmt: str = "PNG", size=(300, 100), colors=("red", "lime", "blue")) -> bytes:
    """An image made of vertical bands, one per colour, left to right."""
    image = Image.new("RGB", size)
    band = size[0] // len(colors)
    for i, color in enumerate(colors):
        image.paste(color, (i * band, 0, size[0] if i == len(colors) - 1 else (i + 1) * band, size[1]))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def stored_files(root) -> list[str]:
    """Every file under a storage folder, relative to it."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
