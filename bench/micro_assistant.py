#!/usr/bin/env python3
"""The assistant, in process: how long a person waits for the first words of an answer and for the
whole answer, over the real socket stack (the consumer, the frame router, the assistant's stream on
the event loop, the store) against the fake OpenAI-compatible server of the tests, which answers at
once. What the model itself takes is not in it: these are the site's own costs on top of the model.

    .venv/bin/python bench/micro_assistant.py                    # embedded: SQLite, in-memory layer
    .venv/bin/python bench/micro_assistant.py --database-url postgres://postgres@127.0.0.1:5432/chat_bench_ai

Prints p50/p95 of: the question's ack, the first message.delta, assistant.finished (the answer stored
and announced). --json writes the figures (make bench writes bench/results/assistant.json).
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from importlib import import_module
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentiles(times: list[float]) -> dict:
    times = sorted(times)
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(times[max(0, round(0.95 * len(times)) - 1)], 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default="", help="PostgreSQL instead of a SQLite file under /tmp")
    ap.add_argument("--runs", type=int, default=40, help="questions asked (default 40)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()

    from messaging.tests.fake_openai import FakeOpenAI

    fake = FakeOpenAI().start()
    os.environ.update({
        "VAR_DIR": tempfile.mkdtemp(prefix="chat-bench-assistant-"),
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
        "STARTUP_CHECKS": "0",
        "LOG_LEVEL": "WARNING",
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_MODEL": "bench-model",
        # Measured, not hit.
        "ASSISTANT_RATE_LIMIT": "1000000/s",
        "ASSISTANT_MONTHLY_TOKENS": str(10**12),
        "MESSAGE_RATE_LIMIT": "1000000/s",
    })
    for name in ("REDIS_URL", "AWS_STORAGE_BUCKET_NAME"):
        os.environ.pop(name, None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        results = asyncio.run(_measure(args.runs))
    finally:
        fake.stop()
    engine = "postgres" if args.database_url else "sqlite"
    for label, figures in results.items():
        print(f"{label:28s} p50 {figures['p50_ms']:7.1f} ms  p95 {figures['p95_ms']:7.1f} ms")
    if args.json:
        args.json.write_text(json.dumps({"engine": engine, "runs": args.runs, "tokens_per_answer": len(fake.tokens),
                                         "results": results}, indent=2))
        print(f"wrote {args.json}")


async def _measure(runs: int) -> dict:
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator

    from chatsite.asgi import application
    from messaging import assistant

    user, cookie = await database_sync_to_async(_person)()
    chat = await database_sync_to_async(assistant.get_or_create_assistant_conversation)(user=user)
    ws = WebsocketCommunicator(application, "/ws/", headers=[(b"origin", b"http://localhost"),
                                                             (b"host", b"localhost"), (b"cookie", cookie.encode())])
    connected, _ = await ws.connect()
    assert connected, "the socket refused the bench's session"
    acks, firsts, finishes = [], [], []
    try:
        for run in range(runs + 1):  # the first is a warm-up (imports, the SDK's client, connections)
            started = time.perf_counter()
            await ws.send_json_to({"type": "message.send", "conversation": chat.pk, "body": f"Question {run}?",
                                   "client_id": f"bench-{run}-{time.time_ns()}"})
            ack = first = None
            while True:
                frame = await ws.receive_json_from(timeout=20)
                now = (time.perf_counter() - started) * 1000
                if frame["type"] == "message.ack" and ack is None:
                    ack = now
                elif frame["type"] == "message.delta" and first is None:
                    first = now
                elif frame["type"] == "assistant.finished":
                    assert frame["status"] == "done", frame
                    if run:
                        acks.append(ack)
                        firsts.append(first)
                        finishes.append(now)
                    break
                elif frame["type"] == "error":
                    raise SystemExit(f"the assistant answered an error: {frame}")
    finally:
        await ws.disconnect()
    return {"question ack": percentiles(acks), "first words (message.delta)": percentiles(firsts),
            "answer stored (finished)": percentiles(finishes)}


def _person():
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from accounts.models import User

    user = User.objects.filter(username="asker").first() or User.objects.create_user("asker", "asker@example.com", "x")
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return user, f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


if __name__ == "__main__":
    main()
