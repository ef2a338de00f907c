#!/usr/bin/env python3
"""The HTTP API, in process: how long the API's busiest calls take through the whole server (the
bearer token's lookup and rate limit, Django Ninja's parsing and pydantic validation, the services,
the JSON out), without the network.

    .venv/bin/python bench/micro_api.py                      # embedded: a temp SQLite
    .venv/bin/python bench/micro_api.py --database-url postgres://postgres@127.0.0.1:5432/chat_bench_api

One person with 100 direct chats (3 messages each) and one chat of 200 messages, calling with a
personal access token: GET /api/v1/conversations (30 chats), GET a page of 50 messages, and POST a
message (each with a new client_id). Prints p50/p95 per call; --json writes the figures (make bench
writes bench/results/api-sqlite.json).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[max(0, round(0.95 * len(times)) - 1)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default="", help="PostgreSQL instead of a SQLite file under /tmp")
    ap.add_argument("--runs", type=int, default=200, help="calls of each kind (default 200)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()

    os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="chat-bench-api-")
    os.environ.pop("REDIS_URL", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "chatsite.settings"
    os.environ["STARTUP_CHECKS"] = "0"
    # Measured, not hit: no limit stops the runs.
    os.environ["MESSAGE_RATE_LIMIT"] = "1000000/s"
    os.environ["API_RATE_LIMIT"] = "1000000/s"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User
    from accounts.services import tokens
    from messaging import services

    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = ["*"]
    me = User.objects.create_user(username=f"me{uuid.uuid4().hex[:6]}", email="me@api.example", password=None,
                                  first_name="Me")
    chats = []
    for i in range(100):
        other = User.objects.create_user(username=f"{me.username}o{i}", email=f"o{i}@api.example", password=None)
        chat = services.get_or_create_direct_conversation(user=me, other_id=other.pk)
        chats.append((chat, other))
        for j in range(3):
            services.send_message(user=other, conversation_id=chat.pk, body=f"hi {j}")
    busy, friend = chats[0]
    for j in range(200):
        services.send_message(user=friend, conversation_id=busy.pk, body=f"message {j} with **bold** and a link "
                                                                          "https://example.com/")
    secret = tokens.create_api_token(user=me, name="bench").secret
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    calls = [
        ("GET conversations", lambda: client.get("/api/v1/conversations"), 200),
        ("GET messages page", lambda: client.get(f"/api/v1/conversations/{busy.pk}/messages?before=150&limit=50"), 200),
        ("POST message", lambda: client.post(f"/api/v1/conversations/{busy.pk}/messages",
                                             {"body": "a message from a bot", "client_id": uuid.uuid4().hex},
                                             content_type="application/json"), 201),
    ]
    results = {}
    for label, call, expected in calls:
        for _ in range(5):  # warm up
            call()
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            response = call()
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == expected, (label, response.status_code, response.content[:300])
        p50, p95 = percentiles(times)
        results[label] = {"p50_ms": round(p50, 2), "p95_ms": round(p95, 2), "bytes": len(response.content)}
        print(f"{label:20s} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  {len(response.content) / 1024:6.1f} KB")
    engine = "postgres" if args.database_url else "sqlite"
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"engine": engine, "runs": args.runs, "results": results}, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
