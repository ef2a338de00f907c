#!/usr/bin/env python3
"""In-process cost of the send path, without sockets: where the server's time per message goes.

    .venv/bin/python bench/micro.py [--n 2000] [--profile]     # embedded (a temp SQLite)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chat_bench .venv/bin/python bench/micro.py

Times, per call: ``send_message`` (the whole service: checks, insert, after-commit work, events),
the message HTML of the live event, and the markdown of a plain line. The socket shapes in
bench/run.py measure what users see; this one says which part of the server to work on.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
if not os.environ.get("DATABASE_URL"):
    os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="chat-micro-")
os.environ.setdefault("MESSAGE_RATE_LIMIT", "1000000/s")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def timed(label, fn, n):
    fn(0)  # warm-up: imports, caches, the first connection
    started = time.perf_counter()
    for i in range(1, n + 1):
        fn(i)
    per_call = (time.perf_counter() - started) / n * 1e6
    print(f"{label:<42} {per_call:9.1f} µs/call")
    return per_call


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--profile", action="store_true", help="pyinstrument the send loop")
    ap.add_argument("--offline", action="store_true", help="nobody online: every send notifies the others")
    args = ap.parse_args()

    call_command("migrate", verbosity=0)
    from accounts.models import User
    from groups.services import create_group
    from messaging import events, services
    from messaging.rendering import render_message_html

    suffix = str(time.time_ns())
    users = [User.objects.create_user(username=f"m{suffix}{i}", email=f"m{suffix}{i}@micro.example",
                                      password="x", first_name=f"Micro{i}") for i in range(20)]
    direct = services.get_or_create_direct_conversation(user=users[0], other_id=users[1].pk)
    group = create_group(user=users[0], title="Micro", member_ids=[u.pk for u in users[1:]])

    def send_direct(i):
        services.send_message(user=users[0], conversation_id=direct.pk, body=f"hello number {i}",
                              client_id=f"d{suffix}-{i}")

    def send_group(i):
        services.send_message(user=users[i % 20], conversation_id=group.pk, body=f"hello group {i}",
                              client_id=f"g{suffix}-{i}")

    if not args.offline:  # as in the socket shapes: every member has a tab open
        from accounts.services import presence

        for user in users:
            presence.socket_opened(user=user, conversation_ids=[])
    with CaptureQueriesContext(connection) as queries:
        send_direct(-1)
    print(f"queries per direct send: {len(queries)}")
    for q in queries.captured_queries:
        print("   ", q["sql"][:150])
    with CaptureQueriesContext(connection) as queries:
        send_group(-1)
    print(f"queries per group send (20 members): {len(queries)}")

    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
        for i in range(args.n):
            send_direct(10_000_000 + i)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        return

    timed("send_message, direct chat (sync caller)", send_direct, args.n)
    import asyncio

    from chatsite.realtime import call_service

    async def socket_sends(n):
        # What the consumer does per message.send frame: one hop to the database thread, then
        # the events published from the event loop (here nobody listens).
        await call_service(services.send_message, user=users[0], conversation_id=direct.pk, body="warm-up",
                           client_id=f"w{suffix}")
        started = time.perf_counter()
        for i in range(n):
            await call_service(services.send_message, user=users[0], conversation_id=direct.pk,
                               body=f"hello socket {i}", client_id=f"s{suffix}-{i}")
        print(f"{'send_message via call_service (the socket)':<42} {(time.perf_counter() - started) / n * 1e6:9.1f} µs/call")

    asyncio.run(socket_sends(args.n if not os.environ.get("MICRO_SOCKET_N") else int(os.environ["MICRO_SOCKET_N"])))
    timed("send_message, group of 20", send_group, args.n)
    message = services.send_message(user=users[0], conversation_id=direct.pk, body="render me", client_id="").message
    timed("message.created event (HTML + JSON)", lambda i: events.message_created(message), args.n)
    timed("markdown + sanitise of a plain line", lambda i: render_message_html(f"just a plain line {i}"), args.n)


if __name__ == "__main__":
    main()
