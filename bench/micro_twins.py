#!/usr/bin/env python3
"""In-process cost of what bots added to the send path: the JSON twin of each event, and webhooks.

    .venv/bin/python bench/micro_twins.py [--n 1000]     # embedded (a temp SQLite)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chat_bench .venv/bin/python bench/micro_twins.py

Times, per call:
- building a ``message.created`` event as the send path does (HTML rendered once, JSON text, and
  the JSON twin for API sockets), beside the same event built without the twin, and the twin alone;
- ``send_message`` with no webhook (the publish tap reads a flag), with an active webhook of someone
  outside the chat (the flag is up: one lookup after the commit), and with the chat member's own
  webhook (the lookup and one queued delivery task; the call itself is the worker's, not timed).
Writes bench/results/micro_twins.json.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
if not os.environ.get("DATABASE_URL"):
    os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="chat-micro-twins-")
os.environ.setdefault("MESSAGE_RATE_LIMIT", "1000000/s")
os.environ.setdefault("LOG_LEVEL", "ERROR")
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "1")  # the webhooks point at 127.0.0.1

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402


def timed(label, fn, n, results):
    fn(0)  # warm-up
    best = None
    for _round in range(3):  # the best of three rounds: the machine is shared
        started = time.perf_counter()
        for i in range(1, n + 1):
            fn(i)
        per_call = (time.perf_counter() - started) / n * 1e6
        best = per_call if best is None else min(best, per_call)
    print(f"{label:<58} {best:9.1f} µs/call")
    results[label] = round(best, 1)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    args = ap.parse_args()
    call_command("migrate", verbosity=0)

    from accounts.models import User
    from accounts.services import presence
    from chatsite.realtime import event as build_event
    from messaging import events, services, webhooks
    from messaging.models import Message, Webhook
    from messaging.serializers import message_json

    suffix = str(time.time_ns())
    ana, bot, other = (User.objects.create_user(username=f"t{suffix}{i}", email=f"t{suffix}{i}@micro.example",
                                                password="x", first_name=f"Twin{i}") for i in range(3))
    chat = services.get_or_create_direct_conversation(user=ana, other_id=bot.pk)
    for user in (ana, bot):
        presence.socket_opened(user=user, conversation_ids=[chat.pk])
    message = services.send_message(user=ana, conversation_id=chat.pk, body="hello **there**, a line of text").message
    message = Message.objects.select_related("sender").get(pk=message.pk)
    results: dict[str, float] = {}

    def without_twin(_i):
        # messaging.events.message_created as it was before the twins: HTML and JSON text only.
        payload = {**events._summary(message), "client_id": message.client_id, "sender_id": message.sender_id,
                   "created_at": message.created_at.isoformat(), "html": events.render_message(message, new=True)}
        return {"type": "message.created", "text": json.dumps({"type": "message.created", **payload}),
                "conversation_id": message.conversation_id}

    def with_twin(_i):
        return events.message_created(message)

    def twin_alone(_i):
        return build_event("x", {}, api={"conversation": message.conversation_id, "message": message_json(message)})

    print(f"n={args.n}, {django.db.connection.vendor}")
    base = timed("message.created event, without the twin", without_twin, args.n, results)
    full = timed("message.created event, with the twin (as sent)", with_twin, args.n, results)
    timed("the twin alone (message_json + json.dumps)", twin_alone, args.n, results)
    built = events.message_created(message)
    results["text_bytes"], results["api_text_bytes"] = len(built["text"]), len(built["api_text"])
    print(f"{'layer event: browser text / twin bytes':<58} {len(built['text']):6d} / {len(built['api_text'])}")
    results["twin_share_of_event_build"] = round((full - base) / full, 3) if full else 0

    def send(i):
        services.send_message(user=ana, conversation_id=chat.pk, body=f"hello number {i}", client_id=f"s{suffix}-{i}-{tag[0]}")

    tag = ["none"]
    Webhook.objects.all().delete()
    webhooks._flag["until"] = 0.0
    timed("send_message, no webhook", send, args.n, results)
    tag[0] = "outsider"
    Webhook.objects.create(user=other, url="http://127.0.0.1:9/hook", secret="whsec_bench")
    webhooks._flag["until"] = 0.0
    webhooks.cache.delete(webhooks.FLAG_KEY)
    timed("send_message, a webhook outside the chat (lookup only)", send, args.n, results)
    tag[0] = "member"
    Webhook.objects.create(user=bot, url="http://127.0.0.1:9/hook", secret="whsec_bench")
    timed("send_message, the member's webhook (lookup + 1 queued task)", send, args.n // 4 or 1, results)
    out = ROOT / "bench" / "results" / "micro_twins.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"vendor": django.db.connection.vendor, "n": args.n, **results}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
