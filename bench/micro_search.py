#!/usr/bin/env python3
"""Message search at 1,000,000 messages, in process: p50/p95 of messaging.search.search_messages.

    .venv/bin/python bench/micro_search.py --engine sqlite       # a SQLite file under /tmp (kept: --keep)
    .venv/bin/python bench/micro_search.py --engine postgres \\
        --database-url postgres://postgres@127.0.0.1:5432/chat_bench_search

The data is the pages shape of bench/setup_data.py (one person, 500 direct chats, 2,000 messages
each, the same eight bodies), made with one INSERT ... SELECT so that a million rows take a minute,
not a quarter of an hour; one message in a hundred says "Invoice <n> from Zoë is ready" instead, so
that rarer words (1 % of the messages, and about 20 for a word and a number) are measured beside
words found in an eighth of them. The search index is kept by the database's own triggers or
generated column while the rows go in, as it is for the send path. An existing load is reused
(same database, same counts): --fresh loads again.

Prints one line per query (p50, p95, max in ms, results) and the p95 over all queries; --json
writes the figures for docs/performance.md.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = [
    ("one common word", "bread"),
    ("two words", "train late"),
    ("prefix while typing", "numb"),
    ("phrase", '"first try"'),
    ("rare-ish word (1 %)", "invoice"),
    ("accent-folded name", "zoe"),
    ("word + number (~20)", "invoice 123"),
    ("nothing found", "zebra"),
    ("word + from: filter", "lunch from:{partner}"),
    ("word + in: filter", "meeting in:{partner}"),
    ("word + after: date", "notes after:{date}"),
    ("filters only", "has:link from:{partner}"),
]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/chat_bench_search")
    ap.add_argument("--sqlite-dir", default=str(Path(tempfile.gettempdir()) / "chat-bench-search"),
                    help="the VAR_DIR of the SQLite run (its db.sqlite3 is kept for the next run)")
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--conversations", type=int, default=500)
    ap.add_argument("--runs", type=int, default=40, help="timed runs of each query (after 3 warm-up runs)")
    ap.add_argument("--fresh", action="store_true", help="drop the data and load it again")
    ap.add_argument("--load-only", action="store_true")
    ap.add_argument("--json", help="write the results to this file")
    return ap.parse_args()


ARGS = parse_args()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
os.environ["VAR_DIR"] = ARGS.sqlite_dir if ARGS.engine == "sqlite" else tempfile.mkdtemp(prefix="chat-micro-search-")
os.environ.setdefault("LOG_LEVEL", "WARNING")
if ARGS.engine == "postgres":
    os.environ["DATABASE_URL"] = ARGS.database_url
    os.environ["DATABASE_POOL"] = "false"
else:
    os.environ.pop("DATABASE_URL", None)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from setup_data import BODIES, make_users  # noqa: E402

from accounts.models import User  # noqa: E402
from messaging.models import Conversation, Membership  # noqa: E402
from messaging.rendering import render_message_html  # noqa: E402

PREFIX = "srch"
STEP_S = 30  # seconds between two messages of the load: a million messages span about a year


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def load(n_msgs: int, n_conv: int) -> dict:
    t0 = time.perf_counter()
    owner = make_users(f"{PREFIX}owner", 1, first_name="Owner")[0]
    partners = make_users(f"{PREFIX}pal", n_conv, first_name="Pal")
    with transaction.atomic():
        Conversation.objects.bulk_create(
            [Conversation(kind=Conversation.Kind.DIRECT, created_by=owner,
                          direct_key=Conversation.make_direct_key(owner.pk, p.pk)) for p in partners], batch_size=1000)
        by_key = dict(Conversation.objects.filter(direct_key__isnull=False).values_list("direct_key", "pk"))
        conv_ids = [by_key[Conversation.make_direct_key(owner.pk, p.pk)] for p in partners]
        Membership.objects.bulk_create([Membership(conversation_id=c, user=u) for c, p in zip(conv_ids, partners, strict=True)
                                        for u in (owner, p)], batch_size=2000)
    per_conv = n_msgs // n_conv
    start = timezone.now() - timezone.timedelta(seconds=STEP_S * per_conv * n_conv)
    bodies = "CASE k " + " ".join(f"WHEN {i} THEN {_quote(b)}" for i, b in enumerate(BODIES)) + " END"
    htmls = "CASE k " + " ".join(f"WHEN {i} THEN {_quote(render_message_html(b))}" for i, b in enumerate(BODIES)) + " END"
    invoice = "'Invoice ' || (n %% 997) || ' from Zoë is ready'"
    pg = connection.vendor == "postgresql"
    numbers = ("SELECT g AS n FROM generate_series(0, %d) g" if pg else
               "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < %d) SELECT n FROM s")
    created = ("%s::timestamptz + (n * interval '1 second' * %d)" if pg else
               "strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '+' || (n * %d) || ' seconds')")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_chats (ci integer PRIMARY KEY, conv integer, pal integer)")
        cursor.executemany("INSERT INTO bench_chats VALUES (%s, %s, %s)",
                           [(i, c, p.pk) for i, (c, p) in enumerate(zip(conv_ids, partners, strict=True))])
        sql = f"""
            INSERT INTO messaging_message (conversation_id, seq, sender_id, kind, body, body_html, client_id,
                                           created_at, mention_ids)
            SELECT c.conv, x.seq, CASE WHEN x.seq %% 2 = 1 THEN {owner.pk} ELSE c.pal END, 'text',
                   CASE WHEN x.seq %% 100 = 0 THEN {invoice} ELSE {bodies} END,
                   CASE WHEN x.seq %% 100 = 0 THEN '<p>' || {invoice} || '</p>' ELSE {htmls} END,
                   '', {created % ('%s', STEP_S)}, ''
            FROM (SELECT n, n / {per_conv} AS ci, n %% {per_conv} + 1 AS seq,
                         ((n %% {per_conv} + 1) * 7 + n / {per_conv}) %% {len(BODIES)} AS k
                  FROM ({numbers % (per_conv * n_conv - 1)}) nums) x
            JOIN bench_chats c ON c.ci = x.ci
            ORDER BY x.ci, x.seq
        """
        t1 = time.perf_counter()
        with transaction.atomic():
            cursor.execute(sql, [start.isoformat() if pg else start.strftime("%Y-%m-%d %H:%M:%S")])
        insert_s = time.perf_counter() - t1
        cursor.execute("""UPDATE messaging_conversation SET last_seq = %s,
                          last_message_id = (SELECT max(id) FROM messaging_message m
                                             WHERE m.conversation_id = messaging_conversation.id)
                          WHERE id IN (SELECT conv FROM bench_chats)""", [per_conv])
        cursor.execute("UPDATE messaging_membership SET last_read_seq = %s, last_delivered_seq = %s"
                       " WHERE conversation_id IN (SELECT conv FROM bench_chats)", [per_conv, per_conv])
        cursor.execute("DROP TABLE bench_chats")
        if not pg:
            cursor.execute("INSERT INTO messaging_message_fts(messaging_message_fts) VALUES ('optimize')")
        cursor.execute("ANALYZE")
    return {"messages": per_conv * n_conv, "conversations": n_conv, "insert_s": round(insert_s, 1),
            "load_s": round(time.perf_counter() - t0, 1)}


def prepare():
    if ARGS.engine == "postgres":
        import psycopg
        from django.db import connections
        url = connection.settings_dict
        admin = psycopg.connect(host=url["HOST"] or "127.0.0.1", port=url["PORT"] or 5432, user=url["USER"],
                                password=url["PASSWORD"] or None, dbname="postgres", autocommit=True)
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [url["NAME"]]).fetchone()
        if exists and ARGS.fresh:
            connections.close_all()
            admin.execute(f'DROP DATABASE "{url["NAME"]}"')
            exists = False
        if not exists:
            admin.execute(f'CREATE DATABASE "{url["NAME"]}"')
        admin.close()
    elif ARGS.fresh:
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{ARGS.sqlite_dir}/db.sqlite3{suffix}").unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    owner = User.objects.filter(username=f"{PREFIX}owner0").first()
    if owner:
        count = Membership.objects.filter(user=owner).count()
        return owner, {"reused": True, "conversations": count}
    info = load(ARGS.messages, ARGS.conversations)
    return User.objects.get(username=f"{PREFIX}owner0"), info


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def measure(owner) -> dict:
    from messaging.search import search_messages

    partner = User.objects.filter(username__startswith=f"{PREFIX}pal").order_by("pk")[8].username
    first = connection.cursor()
    first.execute("SELECT min(created_at), max(created_at) FROM messaging_message")
    low, high = first.fetchone()
    if isinstance(low, str):
        from django.utils.dateparse import parse_datetime
        low, high = parse_datetime(low), parse_datetime(high)
    date = (low + (high - low) * 0.9).date().isoformat()
    rows, everything = [], []
    for label, template in QUERIES:
        query = template.format(partner=partner, date=date)
        for _ in range(3):
            page = search_messages(owner, query)
        times = []
        for _ in range(ARGS.runs):
            t0 = time.perf_counter()
            page = search_messages(owner, query)
            times.append((time.perf_counter() - t0) * 1000)
        everything += times
        row = {"label": label, "query": query, "results": len(page.results), "more": page.more,
               "p50": round(statistics.median(times), 2), "p95": round(percentile(times, 95), 2),
               "max": round(max(times), 2)}
        rows.append(row)
        print(f"{label:<22} {query!r:<34} p50 {row['p50']:7.2f}  p95 {row['p95']:7.2f}  max {row['max']:7.2f} ms"
              f"  {row['results']:3} results{' (more)' if row['more'] else ''}", flush=True)
    overall = round(percentile(everything, 95), 2)
    print(f"all queries: p95 {overall} ms over {len(everything)} searches ({connection.vendor})")
    return {"queries": rows, "p95_all_ms": overall, "samples": len(everything)}


def main():
    t0 = time.perf_counter()
    owner, info = prepare()
    from messaging.models import Message
    info["messages_in_db"] = Message.objects.count()
    print(f"{connection.vendor}: {info} ({time.perf_counter() - t0:.0f} s)", flush=True)
    if ARGS.load_only:
        return
    result = {"engine": ARGS.engine, "vendor": connection.vendor, "data": info, **measure(owner),
              "runs_per_query": ARGS.runs}
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
