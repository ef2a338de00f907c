#!/usr/bin/env python3
"""In-process time of the busiest pages, without HTTP: which part of a page to work on.

    .venv/bin/python bench/micro_pages.py           # embedded (a temp SQLite)

One person with 100 direct chats (3 messages each) and one chat of 63 unread messages; prints the
best of 5 batches of 10 requests through django.test.Client, the page size, the queries and how
many model instances each page builds. The pages stage of bench/run.py measures what a browser
waits for over HTTP at 1,000,000 messages.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="chat-micro-pages-")
os.environ.setdefault("MESSAGE_RATE_LIMIT", "1000000/s")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import base  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def main():
    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = ["*"]
    from accounts.models import User
    from messaging import services

    me = User.objects.create_user(username="me", email="me@micro.example", password="x", first_name="Me")
    chats = []
    for i in range(100):
        other = User.objects.create_user(username=f"o{i}", email=f"o{i}@micro.example", password="x", first_name=f"O{i}")
        chat = services.get_or_create_direct_conversation(user=me, other_id=other.pk)
        chats.append((chat, other))
        for j in range(3):
            services.send_message(user=other, conversation_id=chat.pk, body=f"hi {j}")
    busy, friend = chats[0]
    for j in range(60):
        services.send_message(user=friend, conversation_id=busy.pk, body=f"more {j} **bold**")
    client = Client()
    client.force_login(me)
    htmx = {"HTTP_HX_REQUEST": "true"}
    pages = [("conversation list", "/", {}), ("chat page (63 unread)", f"/c/{busy.pk}/", {}),
             ("history page (htmx)", f"/c/{busy.pk}/messages/?before=40", htmx),
             ("people search (page)", "/chats/new/?q=o1", {}), ("people search (htmx)", "/chats/new/?q=o1", htmx)]
    built = [0]
    original_init = base.Model.__init__

    def counting_init(self, *args, **kwargs):
        built[0] += 1
        original_init(self, *args, **kwargs)

    for label, url, extra in pages:
        response = client.get(url, **extra)
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(10):
                client.get(url, **extra)
            best = min(best, (time.perf_counter() - started) / 10 * 1000)
        base.Model.__init__ = counting_init
        built[0] = 0
        with CaptureQueriesContext(connection) as queries:
            client.get(url, **extra)
        base.Model.__init__ = original_init
        print(f"{label:<24} {best:7.2f} ms  {len(response.content) / 1024:6.1f} KB  {len(queries):3} queries  "
              f"{built[0]:4} model instances")


if __name__ == "__main__":
    main()
