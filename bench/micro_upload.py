#!/usr/bin/env python3
"""Uploads, in process: how long POST /uploads/ takes for the files people send, through the whole
server pipeline (the size limit's upload handler, CSRF, sniffing, the quota under its lock, Pillow's
re-encoding and thumbnail for images, the storage write). The network is not in it.

    .venv/bin/python bench/micro_upload.py                      # embedded: SQLite, filesystem storage
    .venv/bin/python bench/micro_upload.py --database-url postgres://postgres@127.0.0.1:5432/chat_bench_upload

Prints p50/p95 per file kind and MB/s; --json writes the figures (make bench writes
bench/results/upload.json).
"""

import argparse
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def photo(width: int, height: int) -> bytes:
    """A JPEG with a camera photo's entropy (noise over a gradient), EXIF included."""
    from PIL import Image

    random.seed(width)
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    image = Image.blend(base, noise, 0.5)
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"  # Make
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def screenshot() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1920, 1080), "white")
    draw = ImageDraw.Draw(image)
    for y in range(0, 1080, 24):
        draw.text((20, y), "A line of text in a screenshot " * 6, fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def pdf(size: int) -> bytes:
    return b"%PDF-1.7\n" + os.urandom(size - 9)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default="", help="PostgreSQL instead of a SQLite file under /tmp")
    ap.add_argument("--runs", type=int, default=12, help="uploads of each kind (default 12)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="chat-bench-upload-"))
    os.environ["VAR_DIR"] = str(tmp)
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("AWS_STORAGE_BUCKET_NAME", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "chatsite.settings"
    os.environ["STARTUP_CHECKS"] = "0"
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client, override_settings

    from accounts.models import User
    from messaging.models import Attachment

    call_command("migrate", verbosity=0)
    user = User.objects.filter(username="uploader").first() or User.objects.create_user("uploader", "u@example.com", "x")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)

    files = [("photo 12 MP JPEG", "photo.jpg", photo(4000, 3000)),
             ("photo 3 MP JPEG", "small.jpg", photo(2000, 1500)),
             ("screenshot PNG", "screen.png", screenshot()),
             ("PDF 5 MB", "doc.pdf", pdf(5 * 1024 * 1024)),
             ("PDF 20 MB", "big.pdf", pdf(20 * 1024 * 1024))]
    results = {}
    # No rate limit or quota in the way of the measurement (both are measured, not hit).
    with override_settings(UPLOAD_QUOTA_BYTES=10**12), \
            override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}):
        for label, name, data in files:
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                response = client.post("/uploads/", {"file": _named(data, name)})
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code in (200, 201), (label, response.status_code, response.content[:200])
            Attachment.objects.filter(uploader=user).delete()
            times.sort()
            p50, p95 = statistics.median(times), times[max(0, round(0.95 * len(times)) - 1)]
            results[label] = {"bytes": len(data), "p50_ms": round(p50, 1), "p95_ms": round(p95, 1),
                              "mb_per_s_at_p50": round(len(data) / 1e6 / (p50 / 1000), 1)}
            print(f"{label:18s} {len(data) / 1e6:6.1f} MB  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
                  f"{results[label]['mb_per_s_at_p50']:6.1f} MB/s")
    engine = "postgres" if args.database_url else "sqlite"
    if args.json:
        args.json.write_text(json.dumps({"engine": engine, "runs": args.runs, "results": results}, indent=2))
        print(f"wrote {args.json}")


def _named(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


if __name__ == "__main__":
    main()
