"""Benchmark data, made in the server's own database with the server's own settings.

Run by bench/run.py as a subprocess with exactly the environment of the server it feeds
(VAR_DIR, DATABASE_URL, REDIS_URL...), from the project root:

    python bench/setup_data.py users SPEC.json OUT.json   # people, conversations, session cookies
    python bench/setup_data.py pages SPEC.json OUT.json   # 1,000,000 messages + in-process query counts

Small things go through the real services (get_or_create_direct_conversation, create_group); big
things (thousands of idle users, a million messages) are bulk ORM inserts. Clients sign in with
real session rows (what django.contrib.auth.login stores), as messaging/tests/test_consumer.py does.
"""

import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

# The application under test: the work tree, or the exported HEAD (bench/run.py --source head).
ROOT = Path(os.environ.get("BENCH_APP_ROOT") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

import django  # noqa: E402

django.setup()

from allauth.account.models import EmailAddress  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.crypto import get_random_string  # noqa: E402

from accounts.models import User  # noqa: E402
from groups.services import create_group  # noqa: E402
from messaging.models import Conversation, Membership, Message  # noqa: E402
from messaging.rendering import render_message_html  # noqa: E402
from messaging.services import get_or_create_direct_conversation  # noqa: E402

PASSWORD = "bench-password-7731"
_HASH = None


def password_hash() -> str:
    # One PBKDF2 hash shared by every bench user: hashing thousands of passwords would take minutes.
    global _HASH
    if _HASH is None:
        _HASH = make_password(PASSWORD)
    return _HASH


def make_users(prefix: str, count: int, first_name: str = "Bench") -> list[User]:
    users = [User(username=f"{prefix}{i}", email=f"{prefix}{i}@bench.example", password=password_hash(),
                  first_name=f"{first_name}{i}", last_name="Loadtest") for i in range(count)]
    User.objects.bulk_create(users, batch_size=1000)
    users = list(User.objects.filter(username__startswith=prefix).order_by("pk"))
    users = [u for u in users if u.username[len(prefix):].isdigit()]
    users.sort(key=lambda u: int(u.username[len(prefix):]))
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, primary=True, verified=True) for u in users], batch_size=1000)
    return users


def make_sessions(users: list[User]) -> list[str]:
    """Session rows as django.contrib.auth.login stores them; returns the cookie values."""
    store = DbSessionStore()
    expire = timezone.now() + timedelta(days=2)
    rows, cookies = [], []
    for u in users:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = store.encode({SESSION_KEY: str(u.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                             HASH_SESSION_KEY: u.get_session_auth_hash()})
        rows.append(Session(session_key=key, session_data=data, expire_date=expire))
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={key}")
    Session.objects.bulk_create(rows, batch_size=1000)
    return cookies


def cmd_users(spec: dict) -> dict:
    """spec: {"prefix": "r1x", "sets": [{"name", "kind": direct|group, "members"}], "idle": N}"""
    prefix = spec["prefix"]
    out = {"sets": {}, "timings": {}}
    for s in spec.get("sets", []):
        t0 = time.perf_counter()
        users = make_users(f"{prefix}{s['name'].replace('-', '')}u", s["members"], first_name=s["name"].title()[:10])
        if s["kind"] == "direct":
            assert len(users) == 2
            conversation = get_or_create_direct_conversation(user=users[0], other_id=users[1].pk)
        else:
            conversation = create_group(user=users[0], title=f"Bench {s['name']}", member_ids=[u.pk for u in users[1:]])
        cookies = make_sessions(users)
        out["sets"][s["name"]] = {"conversation": conversation.pk,
                                  "users": [{"id": u.pk, "cookie": c} for u, c in zip(users, cookies, strict=True)]}
        out["timings"][s["name"]] = round(time.perf_counter() - t0, 3)
    idle = int(spec.get("idle", 0))
    if idle:
        # Idle people for the connection test, in pairs: each pair shares a direct chat, so each
        # socket joins three channel-layer groups (user, session, conversation) as in real life.
        t0 = time.perf_counter()
        users = make_users(f"{prefix}idle", idle, first_name="Idle")
        with transaction.atomic():
            pairs = [(users[i], users[i + 1]) for i in range(0, len(users) - 1, 2)]
            convs = [Conversation(kind=Conversation.Kind.DIRECT, created_by=a,
                                  direct_key=Conversation.make_direct_key(a.pk, b.pk)) for a, b in pairs]
            Conversation.objects.bulk_create(convs, batch_size=1000)
            convs = {c.direct_key: c.pk for c in Conversation.objects.filter(
                direct_key__in=[Conversation.make_direct_key(a.pk, b.pk) for a, b in pairs])}
            Membership.objects.bulk_create(
                [Membership(conversation_id=convs[Conversation.make_direct_key(a.pk, b.pk)], user=u)
                 for a, b in pairs for u in (a, b)], batch_size=2000)
        out["idle_cookies"] = make_sessions(users)
        out["timings"]["idle"] = round(time.perf_counter() - t0, 3)
    return out


# --- pages -----------------------------------------------------------------------------------
BODIES = [
    "Did you see the new build? It finally passes on the first try.",
    "Lunch at noon? The place on the corner has **fresh** bread today.",
    "Here is the link: https://example.com/docs/getting-started",
    "ok",
    "I'll send the notes after the meeting, give me 10 minutes.",
    "Can you check the numbers in the _second_ table once more?",
    "Sounds good to me :thumbsup:",
    "The train is late again, I will be there around half past.",
]


def cmd_pages(spec: dict) -> dict:
    """One user with ``conversations`` direct chats holding ``messages`` messages in all (gapless
    seq per chat, last_seq/last_message set), then query counts of the page views, in process."""
    prefix, n_conv, n_msgs = spec["prefix"], int(spec["conversations"]), int(spec["messages"])
    batch = int(spec.get("batch", 20000))
    per_conv = n_msgs // n_conv
    out = {"conversations": n_conv, "messages_per_conversation": per_conv, "messages": per_conv * n_conv,
           "timings": {}}
    t0 = time.perf_counter()
    owner = make_users(f"{prefix}pgowner", 1, first_name="Owner")[0]
    partners = make_users(f"{prefix}pgpal", n_conv, first_name="Pal")
    conversations = [get_or_create_direct_conversation(user=owner, other_id=p.pk) for p in partners]
    out["timings"]["users_and_conversations_s"] = round(time.perf_counter() - t0, 3)

    t0 = time.perf_counter()
    htmls = [render_message_html(b) for b in BODIES]
    pending = []
    inserted = 0

    def flush():
        nonlocal pending, inserted
        if pending:
            with transaction.atomic():
                Message.objects.bulk_create(pending, batch_size=5000)
            inserted += len(pending)
            pending = []

    for ci, (conv, partner) in enumerate(zip(conversations, partners, strict=True)):
        for seq in range(1, per_conv + 1):
            k = (seq * 7 + ci) % len(BODIES)
            pending.append(Message(conversation_id=conv.pk, seq=seq, sender_id=owner.pk if seq % 2 else partner.pk,
                                   kind=Message.Kind.TEXT, body=BODIES[k], body_html=htmls[k]))
            if len(pending) >= batch:
                flush()
    flush()
    out["timings"]["bulk_insert_s"] = round(time.perf_counter() - t0, 3)
    out["inserted"] = inserted

    t0 = time.perf_counter()
    last_ids = dict(Message.objects.filter(conversation_id__in=[c.pk for c in conversations], seq=per_conv)
                    .values_list("conversation_id", "pk"))
    now = timezone.now()
    with transaction.atomic():
        for i, conv in enumerate(conversations):
            Conversation.objects.filter(pk=conv.pk).update(
                last_seq=per_conv, last_message_id=last_ids[conv.pk], last_activity_at=now - timedelta(minutes=i))
        # Everything read: the chat page opens on the newest page (50 messages).
        Membership.objects.filter(conversation_id__in=[c.pk for c in conversations]).update(
            last_read_seq=per_conv, last_delivered_seq=per_conv)
    out["timings"]["denormalise_s"] = round(time.perf_counter() - t0, 3)
    out["timings"]["analyze_s"] = analyze()

    # Gapless check on a sample of chats (a full check of a million rows is cheap enough too).
    sample = conversations[:: max(1, n_conv // 10)]
    gapless = True
    for conv in sample:
        seqs = list(Message.objects.filter(conversation_id=conv.pk).order_by("seq").values_list("seq", flat=True))
        gapless &= seqs == list(range(1, per_conv + 1))
    out["gapless_sample_ok"] = gapless
    out["total_messages_in_db"] = Message.objects.count()

    cookie = make_sessions([owner])[0]
    deep = [max(2, per_conv // d) for d in (40, 20, 10, 4, 2)] + [per_conv - 60]
    urls = {
        "list": ["/"],
        "chat": [f"/c/{c.pk}/" for c in conversations[:: max(1, n_conv // 25)]],
        "history": [f"/c/{c.pk}/messages/?before={deep[i % len(deep)]}"
                    for i, c in enumerate(conversations[:: max(1, n_conv // 25)])],
        "search": ["/chats/new/?q=pal", "/chats/new/?q=Pal1", "/chats/new/?q=pal2"],
        "search_htmx": ["/chats/new/?q=pal", "/chats/new/?q=Pal1", "/chats/new/?q=pal2"],
        # Message search (bench/micro_search.py measures the selector alone, with rarer words too).
        "message_search": ["/search/?scope=all&q=bread", "/search/?scope=all&q=train+late", "/search/?scope=all&q=numb",
                           f"/search/?scope=all&q=notes&conversation={conversations[0].pk}"],
    }
    out["owner"] = {"id": owner.pk, "username": owner.username, "password": PASSWORD, "cookie": cookie}
    out["urls"] = urls
    out["queries"] = query_counts(owner, urls)
    return out


def analyze() -> float:
    """Fresh planner statistics after a bulk load, as autovacuum (PostgreSQL) would soon do anyway."""
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return round(time.perf_counter() - t0, 3)


def query_counts(user, urls: dict) -> dict:
    """Queries per request of each view, in process (django.test.Client + CaptureQueriesContext)."""
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    result = {}
    for name, paths in urls.items():
        headers = {"HX-Request": "true"} if name in ("history", "search_htmx", "message_search") else {}
        counts, statuses, ms = [], set(), []
        for path in paths:
            client.get(path, headers=headers)  # warm the caches (presence, templates) first
            with CaptureQueriesContext(connection) as ctx:
                t0 = time.perf_counter()
                response = client.get(path, headers=headers)
                ms.append((time.perf_counter() - t0) * 1000)
            counts.append(len(ctx.captured_queries))
            statuses.add(response.status_code)
        result[name] = {"counts": counts, "min": min(counts), "max": max(counts), "constant": len(set(counts)) == 1,
                        "statuses": sorted(statuses), "in_process_ms_median": round(sorted(ms)[len(ms) // 2], 2),
                        "sql_sample": [q["sql"][:300] for q in ctx.captured_queries]}
    return result


def main():
    command, spec_path, out_path = sys.argv[1:4]
    spec = json.loads(Path(spec_path).read_text())
    t0 = time.perf_counter()
    result = {"users": cmd_users, "pages": cmd_pages}[command](spec)
    result["elapsed_s"] = round(time.perf_counter() - t0, 3)
    result["database"] = connection.vendor
    Path(out_path).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
