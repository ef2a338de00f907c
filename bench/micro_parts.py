#!/usr/bin/env python3
"""Each hand-written replacement of a framework part against the framework's own doing the same job.

    .venv/bin/python bench/micro_parts.py [--rounds 9] [--seconds 0.25] [--only layers,html,...]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chat_bench REDIS_URL=redis://127.0.0.1:6379/7 \
        .venv/bin/python bench/micro_parts.py            # adds the Redis parts and the store on PostgreSQL

Parts (``--only``): layers, html, ws_auth, counters (needs REDIS_URL), store, consumer. Both sides
of a comparison run in this one process, alternately, for several rounds (the order flips every
round), each round long enough to be timed (``--seconds``): whatever else the machine does then
hits both alike. Printed per row: the median per unit of each side with the rounds' range, and the
ratio (framework / ours) as the median of the rounds' own ratios with its range. Ends with the
rows as a markdown table (docs/performance.md, "Hand-written parts").
"""

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
if not os.environ.get("DATABASE_URL"):
    os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="chat-micro-parts-")
os.environ.setdefault("MESSAGE_RATE_LIMIT", "1000000/s")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Keys and channels of its own, so a Redis shared with a test run or the site is not mixed up.
os.environ.setdefault("CACHE_KEY_PREFIX", "microparts")
os.environ.setdefault("CHANNEL_LAYER_PREFIX", "microparts")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]  # --clock cpu: this process's CPU time (all its threads), blind to other processes
OLD_CACHE_COMMIT = "2d6ee59"  # the last commit with chatsite/cache.py (one redis-py client per pool)


@dataclass
class Row:
    part: str
    what: str
    unit: str
    ours_label: str
    theirs_label: str
    ours: list[float] = field(default_factory=list)  # µs per unit, one per round
    theirs: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def ratios(self) -> list[float]:
        return [t / o for o, t in zip(self.ours, self.theirs, strict=True)]


def _fmt(us: float) -> str:
    return f"{us:,.1f}" if us < 100 else f"{us:,.0f}"


def _median_range(values: list[float]) -> str:
    return f"{_fmt(statistics.median(values))} ({_fmt(min(values))}–{_fmt(max(values))})"


class Bench:
    def __init__(self, rounds: int, seconds: float):
        self.rounds, self.seconds = rounds, seconds
        self.rows: list[Row] = []
        self.loop = asyncio.new_event_loop()

    def sync(self, make_coro):
        """A runner ``n -> seconds`` from an async one, on the bench's one event loop."""
        return lambda n: self.loop.run_until_complete(make_coro(n))

    def _batch_size(self, run) -> int:
        """How many units make one round of about ``seconds``."""
        n = 1
        while True:
            elapsed = run(n)
            if elapsed >= self.seconds / 5 or n >= 1_000_000:
                return max(1, round(n * self.seconds / max(elapsed, 1e-9)))
            n *= 5

    def compare(self, row: Row, ours, theirs) -> Row:
        """``ours`` and ``theirs``: ``n -> seconds`` for n units of the same job."""
        ours(1)
        theirs(1)  # warm-up: imports, caches, connections
        sides = [(ours, self._batch_size(ours), row.ours), (theirs, self._batch_size(theirs), row.theirs)]
        for i in range(self.rounds):
            for run, n, out in (sides if i % 2 == 0 else sides[::-1]):
                out.append(run(n) / n * 1e6)
        self.rows.append(row)
        print(f"{row.part:<9} {row.what:<58} {row.ours_label}: {_median_range(row.ours)} µs  "
              f"{row.theirs_label}: {_median_range(row.theirs)} µs  ratio {self.ratio(row)}", flush=True)
        if row.note:
            print(f"{'':<10}{row.note}")
        return row

    @staticmethod
    def ratio(row: Row) -> str:
        ratios = row.ratios
        return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}–{max(ratios):.2f})"

    def markdown(self) -> str:
        lines = ["| part | job (unit) | ours, µs | framework's own, µs | framework / ours |",
                 "|---|---|---|---|---|"]
        for row in self.rows:
            lines.append(f"| {row.part} | {row.what} ({row.unit}) | {row.ours_label}: {_median_range(row.ours)} | "
                         f"{row.theirs_label}: {_median_range(row.theirs)} | {self.ratio(row)} |")
        return "\n".join(lines)


# --- fixtures ------------------------------------------------------------------------------------

@dataclass
class World:
    users: list
    direct: object  # a direct Conversation of users[0] and users[1]
    message: object  # a stored text message in it


def make_world() -> World:
    from accounts.models import User
    from messaging import services

    suffix = str(time.time_ns())
    users = [User.objects.create_user(username=f"p{suffix}{i}", email=f"p{suffix}{i}@micro.example", password="x",
                                      first_name=f"Parts{i}", last_name="Bench") for i in range(3)]
    direct = services.get_or_create_direct_conversation(user=users[0], other_id=users[1].pk)
    message = services.send_message(user=users[0], conversation_id=direct.pk,
                                    body="Shall we meet at **noon** by the fountain?", client_id=f"w{suffix}").message
    return World(users, direct, message)


def message_event(world: World) -> dict:
    from messaging import events

    return events.message_created(world.message)


# --- 1. channel layers -----------------------------------------------------------------------------

def bench_layers(bench: Bench, world: World, *, members: int = 20):
    for others in (5000, 0):
        _bench_layers(bench, world, others=others, members=members)


def _bench_layers(bench: Bench, world: World, *, others: int, members: int):
    from channels.layers import InMemoryChannelLayer

    from chatsite.layers import LocalChannelLayer

    event = message_event(world)
    group = f"conversation.{world.direct.pk}"

    async def populated(layer):
        """``others`` idle sockets (each waiting on its channel, in its own user group) and the
        ``members`` channels of one conversation."""
        idle = []
        for i in range(others):
            channel = await layer.new_channel()
            await layer.group_add(f"user.{100_000 + i}", channel)
            idle.append(asyncio.ensure_future(layer.receive(channel)))
        member_channels = []
        for i in range(members):
            channel = await layer.new_channel()
            await layer.group_add(f"user.{i}", channel)
            await layer.group_add(group, channel)
            member_channels.append(channel)
        await asyncio.sleep(0)  # the idle receivers start waiting
        return idle, member_channels

    local, local_attached, memory = LocalChannelLayer(), LocalChannelLayer(), InMemoryChannelLayer()
    idle_tasks = []
    channels_of = {}
    for layer in (local, local_attached, memory):
        idle, channels_of[id(layer)] = bench.loop.run_until_complete(populated(layer))
        idle_tasks += idle
    inbox = []
    for channel in channels_of[id(local_attached)]:
        local_attached.attach(channel, inbox.append)  # what SocketConsumer does

    def via_receive(layer):
        member_channels = channels_of[id(layer)]

        async def run(n):
            started = clock()
            for _ in range(n):
                await layer.group_send(group, event)
                for channel in member_channels:
                    await layer.receive(channel)
            return clock() - started
        return bench.sync(run)

    async def attached(n):
        started = clock()
        for _ in range(n):
            await local_attached.group_send(group, event)
            assert len(inbox) == members
            inbox.clear()
        return clock() - started

    what = f"group_send to {members} members + their reads, {others:,} other sockets in the layer"
    bench.compare(Row("layers", what, "per group_send", "LocalChannelLayer, attached inboxes",
                      "InMemoryChannelLayer"), bench.sync(attached), via_receive(memory))
    if others:
        bench.compare(Row("layers", what, "per group_send", "LocalChannelLayer, receive()", "InMemoryChannelLayer",
                          note="both read by receive(), as a Channels consumer does: the layer alone"),
                      via_receive(local), via_receive(memory))
    if idle_tasks:
        for task in idle_tasks:
            task.cancel()
        bench.loop.run_until_complete(asyncio.wait(idle_tasks))


# --- 2. message HTML -------------------------------------------------------------------------------

# render_message_item, as a Django template: the same <li>, byte for byte (checked below).
MESSAGE_TEMPLATE = "".join([
    '<li class="msg msg-{{ m.kind }}{% if m.is_deleted %} msg-deleted{% endif %}" id="msg-{{ m.conversation_id }}-',
    '{{ m.seq }}" data-seq="{{ m.seq }}" data-id="{{ m.pk }}" data-sender-id="{{ m.sender_id|default:"" }}" ',
    'data-client-id="{{ m.client_id }}" data-created="{{ m.created_at.isoformat }}"',
    '{% if m.mention_ids %} data-mentions="{{ m.mention_ids }}"{% endif %}',
    '{% if starred %} data-starred="true"{% endif %}>',
    '{% if m.kind == "system" %}<p class="msg-system">{{ m.body }}</p></li>{% else %}',
    '<div class="msg-bubble"><p class="msg-meta"><span class="msg-sender">',
    '{% if m.sender_id %}{{ m.sender.display_name }}{% else %}Deleted account{% endif %}</span> ',
    '<time datetime="{{ m.created_at.isoformat }}">{{ m.created_at|time:"H:i" }}</time> ',
    '{% if m.edited_at and not m.is_deleted %}<span class="msg-edited">(edited)</span>{% endif %}',
    '<span class="msg-status" data-status></span> ',
    '<button type="button" class="msg-seen link-button" data-seen hx-get="{% url "seen_by" m.pk %}" ',
    'hx-target="#seen-{{ m.pk }}" hx-swap="innerHTML"></button></p>',
    '{% with r=m.reply_to %}{% if r and not m.is_deleted %}',
    '<a class="msg-quote" href="#msg-{{ m.conversation_id }}-{{ r.seq }}" data-jump-to="{{ r.seq }}">',
    '<span class="msg-quote-sender">Reply to {% if r.sender %}{{ r.sender.display_name }}{% else %}a deleted account',
    '{% endif %}</span><span class="msg-quote-text">{{ r.preview }}</span></a>{% endif %}{% endwith %}',
    '<div id="seen-{{ m.pk }}" class="seen-by-box" aria-live="polite"></div>',
    '<p class="msg-blocked-note muted">Message from someone you blocked.</p>',
    '{% if m.is_deleted %}<p class="msg-body msg-body-deleted"><em>This message was deleted.</em></p>',
    '{% elif m.kind == "text" or m.kind == "link" %}<div class="msg-body" id="msg-body-{{ m.pk }}">',
    '{{ m.body_html|safe }}</div>',
    '{% elif m.kind == "call" %}<p class="msg-body msg-call" id="msg-body-{{ m.pk }}"><span aria-hidden="true">📞',
    '</span> {{ m.body }}</p>',
    '{% else %}{% with "messaging/kinds/"|add:m.kind|add:".html" as kind_template %}{% include kind_template %}',
    '{% endwith %}{% endif %}',
    '{% if reactions and not m.is_deleted %}<div class="msg-reactions" role="group" aria-label="Reactions">',
    '{% for r in reactions %}<button type="button" class="reaction" data-user-ids="{{ r.user_ids }}" ',
    'aria-pressed="false" title="{{ r.names }}" aria-label="{{ r.emoji }} {{ r.count }}: {{ r.names }}" ',
    'hx-post="{% url "react_message" m.pk %}" hx-vals=\'{"emoji": "{{ r.emoji }}"}\' hx-target="closest .msg" ',
    'hx-swap="outerHTML">{{ r.emoji }} {{ r.count }}</button>{% endfor %}</div>{% endif %}',
    '{% if not m.is_deleted %}<details class="msg-actions"><summary aria-label="Actions for message from ',
    '{% if m.sender_id %}{{ m.sender.display_name }}{% else %}deleted account{% endif %} at ',
    '{{ m.created_at|time:"H:i" }}"><span aria-hidden="true">⋯</span></summary></details>{% endif %}',
    '</div></li>{% endif %}',
])


def bench_html(bench: Bench, world: World):
    from django.template import engines
    from django.utils import timezone

    from messaging import selectors, services
    from messaging.html import render_message_item
    from messaging.models import Message

    template = engines["django"].from_string(MESSAGE_TEMPLATE)
    me, other = world.users[0], world.users[1]

    def variant(**changes):
        message = Message.objects.select_related("sender", "reply_to__sender").get(pk=world.message.pk)
        for name, value in changes.items():
            setattr(message, name, value)
        return message

    services.toggle_reaction(user=other, message_id=world.message.pk, emoji="👍")
    services.toggle_reaction(user=me, message_id=world.message.pk, emoji="👍")
    reply = services.send_message(user=other, conversation_id=world.direct.pk, body="Noon <is> fine & 'dandy'",
                                  reply_to_id=world.message.pk).message
    reply = Message.objects.select_related("sender", "reply_to__sender").get(pk=reply.pk)
    plain = variant()
    reactions = selectors.reaction_summary(plain)
    cases = [
        (plain, (), False),
        (plain, reactions, True),
        (reply, (), False),
        (reply, reactions, False),
        (variant(mention_ids="3 4", edited_at=timezone.now()), reactions, False),
        (variant(deleted_at=timezone.now()), reactions, False),
        (variant(kind=Message.Kind.SYSTEM, body="Olga <joined>"), (), False),
        (variant(kind=Message.Kind.CALL, body="Call, 2 min"), (), False),
        (variant(sender=None, sender_id=None), (), False),
    ]
    for message, reacted, starred in cases:
        ours = render_message_item(message, reactions=reacted, starred=starred)
        theirs = template.render({"m": message, "reactions": reacted, "starred": starred})
        if ours != theirs:
            sys.exit(f"html: the template no longer renders the same <li> as messaging.html:\n{ours}\n{theirs}")

    def runner(render):
        def run(n):
            started = clock()
            for _ in range(n):
                render()
            return clock() - started
        return run

    for message, reacted, what in [(plain, (), "a new text message (every live event)"),
                                   (reply, reactions, "a reply with a reaction of two people")]:
        bench.compare(
            Row("html", f"message <li>: {what}", "per message", "messaging.html", "Django template",
                note="template: render_message_item written as a template (the same bytes, 9 cases checked)"
                if what.startswith("a new") else ""),
            runner(lambda m=message, r=reacted: render_message_item(m, reactions=r)),
            runner(lambda m=message, r=reacted: template.render({"m": m, "reactions": r, "starred": False})))


# --- 3. WebSocket sign-in --------------------------------------------------------------------------

def bench_ws_auth(bench: Bench, world: World, *, frames: int = 20):
    from channels.auth import AuthMiddlewareStack
    from django.test import Client

    from chatsite.ws_auth import SessionAuthMiddlewareStack

    client = Client()
    client.force_login(world.users[0])
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()
    scope = {"type": "websocket", "path": "/ws/", "query_string": b"", "scheme": "ws",
             "headers": [(b"host", b"testserver"), (b"origin", b"http://testserver"), (b"cookie", cookie)]}
    text = message_event(world)["text"]
    frame_time = [0.0]

    def app(count):
        """Accepts, checks the user as the consumer does, and sends ``count`` frames."""
        async def inner(scope, receive, send):
            await receive()
            if not scope["user"].is_authenticated or scope["user"].pk != world.users[0].pk:
                raise AssertionError("not signed in")
            await send({"type": "websocket.accept"})
            started = clock()
            for _ in range(count):
                await send({"type": "websocket.send", "text": text})
            frame_time[0] += clock() - started
        return inner

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):
        pass

    def sockets(stack, count):
        application = stack(app(count))

        async def run(n):
            started = clock()
            for _ in range(n):
                await application(dict(scope), receive, send)
            return clock() - started
        return bench.sync(run)

    def frames_only(stack):
        async def run(n):
            frame_time[0] = 0.0
            await stack(app(n))(dict(scope), receive, send)
            return frame_time[0]
        return bench.sync(run)

    bench.compare(Row("ws_auth", f"handshake (session + user from the cookie) + {frames} frames sent", "per socket",
                      "SessionAuthMiddlewareStack", "AuthMiddlewareStack"),
                  sockets(SessionAuthMiddlewareStack, frames), sockets(AuthMiddlewareStack, frames))
    bench.compare(Row("ws_auth", "an outgoing frame through the stack", "per frame", "SessionAuthMiddlewareStack",
                      "AuthMiddlewareStack"),
                  frames_only(SessionAuthMiddlewareStack), frames_only(AuthMiddlewareStack))


# --- 4. counters and the cache on Redis ------------------------------------------------------------

def cache_api_increment(key, delta=1, *, timeout, restart_expiry=False):
    """The portable path of chatsite.counters.increment: Django's cache API only."""
    from django.core.cache import cache

    if cache.add(key, delta, timeout=timeout):
        return delta
    try:
        value = cache.incr(key, delta)
    except ValueError:
        cache.set(key, delta, timeout=timeout)
        return delta
    if restart_expiry:
        cache.touch(key, timeout)
    return value


def _old_cache_module():
    """chatsite/cache.py as it was before it was dropped, from git, in a temp module."""
    try:
        source = subprocess.run(["git", "show", f"{OLD_CACHE_COMMIT}:chatsite/cache.py"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp(prefix="micro-parts-")) / "old_shared_client_cache.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_shared_client_cache", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_counters(bench: Bench, world: World):
    if not os.environ.get("REDIS_URL"):
        print("counters  skipped: set REDIS_URL (the counters take the portable cache API without Redis)")
        return
    from django.core.cache import cache
    from django.core.cache.backends.redis import RedisCache

    from chatsite import counters

    keys = [f"microparts:counter:{i}" for i in range(50)]

    def runner(increment, restart_expiry):
        def run(n):
            started = clock()
            for i in range(n):
                increment(keys[i % len(keys)], timeout=60, restart_expiry=restart_expiry)
            return clock() - started
        return run

    for restart, what, theirs in [(False, "bump a counter (rate limit: expiry kept)", "cache add + incr"),
                                  (True, "bump a counter and restart its expiry (presence)",
                                   "cache add + incr + touch")]:
        bench.compare(Row("counters", what, "per increment", "counters.increment", theirs),
                      runner(counters.increment, restart), runner(cache_api_increment, restart))
    cache.delete_many(keys)

    location, params = settings.REDIS_URL, {"KEY_PREFIX": "microparts-getmany"}
    now = RedisCache(location, params)
    names = [f"k{i}" for i in range(20)]
    now.set_many(dict.fromkeys(names, "x" * 40), timeout=300)
    old = _old_cache_module()

    def get_many(backend):
        def run(n):
            started = clock()
            for _ in range(n):
                assert len(backend.get_many(names)) == len(names)
            return clock() - started
        return run

    if old is None:
        print(f"cache     get_many: the old backend ({OLD_CACHE_COMMIT}:chatsite/cache.py) is not in this checkout")
    else:
        bench.compare(Row("cache", "get_many of 20 keys (the cost of dropping chatsite/cache.py)", "per call",
                          f"old chatsite/cache.py ({OLD_CACHE_COMMIT})", "Django RedisCache",
                          note="ours = the dropped shared-client backend; the site now runs Django's"),
                      get_many(old.RedisCache(location, params)), get_many(now))
    now.delete_many(names)


# --- 5. the send path's SQL --------------------------------------------------------------------------

def bench_store(bench: Bench, world: World):
    from django.db.models import Exists, OuterRef, Q

    from accounts.models import Block
    from messaging import store
    from messaging.models import Conversation, Membership, Message

    user = world.users[0]
    conversation_id = world.direct.pk
    body, body_html = "hello again", "<p>hello again</p>"
    counter = [0]

    def client_id():
        counter[0] += 1
        return f"store-{time.time_ns()}-{counter[0]}"

    def ours():
        with transaction.atomic():
            membership, blocked = store.lock_membership(conversation_id=conversation_id, user_id=user.pk)
            conversation = membership.conversation
            assert not blocked
            return store.insert_message(conversation=conversation, seq=conversation.last_seq + 1, sender=user,
                                        kind=Message.Kind.TEXT, body=body, body_html=body_html, client_id=client_id(),
                                        reply_to=None, mention_ids="")

    def orm():
        with transaction.atomic():
            # The same membership, conversation fields, row lock and block check as the store's
            # one statement (the other member of the chat, and a Block either way).
            blocks = Block.objects.filter(
                Q(blocker_id=OuterRef("user_id"), blocked_id=OuterRef(OuterRef("user_id")))
                | Q(blocker_id=OuterRef(OuterRef("user_id")), blocked_id=OuterRef("user_id")))
            other_members = (Membership.objects.filter(conversation_id=OuterRef("conversation_id"))
                             .exclude(user_id=OuterRef("user_id")).filter(Exists(blocks)))
            membership = (Membership.objects.select_for_update(of=("conversation",)).select_related("conversation")
                          .only("id", "role", "conversation_id", "user_id", "conversation__kind", "conversation__title",
                                "conversation__direct_key", "conversation__post_policy",
                                "conversation__mention_all_policy", "conversation__last_seq")
                          .annotate(blocked=Exists(other_members))
                          .get(conversation_id=conversation_id, user_id=user.pk))
            conversation = membership.conversation
            assert not membership.blocked
            seq = conversation.last_seq + 1
            message = Message.objects.create(conversation=conversation, seq=seq, sender=user, kind=Message.Kind.TEXT,
                                             body=body, body_html=body_html, client_id=client_id(), reply_to=None,
                                             mention_ids="")
            Conversation.objects.filter(pk=conversation.pk).update(last_seq=seq, last_message=message,
                                                                   last_activity_at=message.created_at)
            return message

    counts = []
    for fn in (ours, orm):
        with CaptureQueriesContext(connection) as queries:
            fn()
        counts.append(len(queries))

    def runner(fn):
        def run(n):
            started = clock()
            for _ in range(n):
                fn()
            return clock() - started
        return run

    bench.compare(Row("store", f"lock membership + insert message + advance the chat ({connection.vendor})",
                      "per send", "messaging.store", "ORM",
                      note=f"statements per send: store {counts[0]}, ORM {counts[1]} (the ORM's BEGIN/COMMIT alike)"),
                  runner(ours), runner(orm))


# --- 6. the consumer's own loop ----------------------------------------------------------------------

def bench_consumer(bench: Bench, world: World, *, burst: int = 10):
    from channels.consumer import AsyncConsumer
    from channels.generic.websocket import AsyncWebsocketConsumer
    from channels.layers import channel_layers

    from chatsite.consumers import SocketConsumer
    from chatsite.layers import LocalChannelLayer
    from chatsite.realtime import conversation_group, stop_database_threads

    channel_layers.set("microparts", LocalChannelLayer())
    event = message_event(world)
    group = conversation_group(world.direct.pk)
    user = world.users[0]

    class OwnLoop(SocketConsumer):
        channel_layer_alias = "microparts"

    class ChannelsLoop(SocketConsumer):
        """The same consumer on Channels' own AsyncConsumer.__call__ (await_many_dispatch, events
        read from the layer by receive())."""
        channel_layer_alias = "microparts"

        async def __call__(self, scope, receive, send):
            self._in_service = False
            try:
                await AsyncConsumer.__call__(self, scope, receive, send)
            finally:
                await self._cleanup()

    class Minimal(AsyncWebsocketConsumer):
        """The least a Channels consumer forwarding these events does."""
        channel_layer_alias = "microparts"
        groups = [group]

        async def message_created(self, event):
            await self.send(text_data=event["text"])

    class Socket:
        """A client that reads everything at once; counts the frames it is sent."""

        def __init__(self, consumer_class):
            self.sent = self.target = 0
            self.done = None
            self.accepted = asyncio.get_running_loop().create_future()
            self.closing = asyncio.Event()
            self.connected = False
            self.consumer = consumer_class()
            scope = {"type": "websocket", "path": "/ws/", "headers": [], "user": user, "session": None}
            self.task = asyncio.ensure_future(self.consumer(scope, self.receive, self.send))

        async def receive(self):
            if not self.connected:
                self.connected = True
                return {"type": "websocket.connect"}
            await self.closing.wait()
            return {"type": "websocket.disconnect", "code": 1000}

        async def send(self, message):
            if message["type"] == "websocket.accept":
                self.accepted.set_result(None)
            elif message["type"] == "websocket.send":
                self.sent += 1
                if self.sent == self.target and self.done is not None:
                    self.done.set_result(None)

    async def opened(consumer_class):
        socket = Socket(consumer_class)
        await asyncio.wait_for(socket.accepted, 10)
        await asyncio.sleep(0.05)  # the hello frame and any open-time events
        return socket

    layer = channel_layers["microparts"]
    sockets = {cls: bench.loop.run_until_complete(opened(cls)) for cls in (OwnLoop, ChannelsLoop, Minimal)}

    def forwarding(cls):
        socket = sockets[cls]
        channel = socket.consumer.channel_name

        async def run(n):
            started = clock()
            left = n
            while left:
                count = min(burst, left)
                socket.target = socket.sent + count
                socket.done = asyncio.get_running_loop().create_future()
                # To this socket's own channel (what a group_send does per member): the three
                # sockets under test are in the same conversation and must not hear each other's.
                for _ in range(count):
                    await layer.send(channel, event)
                await socket.done
                left -= count
            return clock() - started
        return bench.sync(run)

    what = f"forward message.created events to the client (bursts of {burst})"
    bench.compare(Row("consumer", what, "per event", "SocketConsumer.__call__ (attached inbox)",
                      "the same consumer on AsyncConsumer.__call__",
                      note="the same dispatch and on_event; only the loop and the way events come in differ"),
                  forwarding(OwnLoop), forwarding(ChannelsLoop))
    bench.compare(Row("consumer", what, "per event", "SocketConsumer (the whole transport)",
                      "minimal AsyncWebsocketConsumer",
                      note="Channels' consumer does less (no routing keys, no membership check) on the same layer"),
                  forwarding(OwnLoop), forwarding(Minimal))

    async def close_all():
        for socket in sockets.values():
            socket.closing.set()
        await asyncio.gather(*(s.task for s in sockets.values()))
    bench.loop.run_until_complete(close_all())
    stop_database_threads()


def _forget_redis_keys() -> None:
    """The keys this run left in Redis (sessions, presence), when they are under its own prefix."""
    if not os.environ.get("REDIS_URL") or settings.CACHES["default"].get("KEY_PREFIX") != "microparts":
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    for pattern in ("microparts:*", "microparts-getmany:*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    client.close()


PARTS = {"layers": bench_layers, "html": bench_html, "ws_auth": bench_ws_auth, "counters": bench_counters,
         "store": bench_store, "consumer": bench_consumer}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9, help="rounds per comparison (each side once a round)")
    ap.add_argument("--seconds", type=float, default=0.25, help="length of one side's round")
    ap.add_argument("--only", default=",".join(PARTS), help=f"comma-separated, of: {', '.join(PARTS)}")
    ap.add_argument("--clock", choices=CLOCKS, default="wall",
                    help="wall: elapsed time (default); cpu: this process's CPU time, not the database's or Redis's")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args()
    global clock
    clock = CLOCKS[args.clock]
    chosen = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(chosen) - set(PARTS)
    if unknown:
        ap.error(f"unknown part(s): {', '.join(sorted(unknown))}")

    call_command("migrate", verbosity=0)
    world = make_world()
    bench = Bench(args.rounds, args.seconds)
    print(f"database {connection.vendor}, cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, "
          f"{args.rounds} rounds of ~{args.seconds} s a side, {args.clock} clock; µs: median (min–max of the rounds)")
    for part in chosen:
        PARTS[part](bench, world)
    _forget_redis_keys()
    print()
    print(bench.markdown())
    if args.json:
        args.json.write_text(json.dumps([row.__dict__ for row in bench.rows], indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
