"""The only code that talks to the channel layer.

Services call ``publish_on_commit`` so that an event leaves the process only after the database
commit that it describes: nobody is ever told about a row that was rolled back.

Sync callers (views, commands, tests) publish at once, from the thread that committed. The
WebSocket consumer calls services through ``call_service``, which collects the events the service
committed and publishes them from the event loop itself: no ``async_to_sync`` hop from the database
thread back to the loop for every event, and the database thread is free for the next frame sooner.
"""

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction

from .ratelimit import parse_rate

# Set by call_service while a service runs on behalf of a socket: committed events wait here,
# and so does the follow-up work that should not delay them (see after_commit_and_publish).
_outbox: ContextVar[list | None] = ContextVar("realtime_outbox", default=None)
_follow_ups: ContextVar[list | None] = ContextVar("realtime_follow_ups", default=None)
_loop_work: ContextVar[list | None] = ContextVar("realtime_loop_work", default=None)
logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def session_group(session_key: str) -> str:
    return f"session.{session_key}"


def token_group(token_id: int) -> str:
    """The sockets signed in with one API token: revoking it closes them."""
    return f"token.{token_id}"


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def event(event_type: str, payload: dict, *, api: dict | None = None, **routing) -> dict:
    """A channel-layer event: the client's JSON text, serialised once whatever the number of
    recipients, beside the routing keys the socket reads (chatsite.protocol.ROUTING_KEYS).

    ``api``: the payload of the event's JSON twin for API sockets and webhooks (data instead of
    rendered HTML). An event carrying ``html`` without one gets the same payload with ``html``
    null: every HTML-carrying event has a twin, serialised once like its text."""
    built = {"type": event_type, "text": json.dumps({"type": event_type, **payload}), **routing}
    if api is not None:
        built["api_text"] = json.dumps({"type": event_type, **api})
    elif payload.get("html") is not None:
        built["api_text"] = json.dumps({"type": event_type, **payload, "html": None})
    return built


def publish_on_commit(groups: Iterable[str], event: dict) -> None:
    """Send ``event`` to every channel-layer group in ``groups`` once the transaction commits."""
    groups = list(groups)
    if settings.PROTOCOL_CHECKS:
        from . import protocol

        protocol.enforce("event", protocol.check_layer_event, event)
    transaction.on_commit(lambda: _committed(groups, event))


def _committed(groups: list[str], event: dict) -> None:
    outbox = _outbox.get()
    if outbox is not None:
        outbox.append((groups, event))
    else:
        publish_now(groups, event)
    for tap in _publish_taps:
        tap(groups, event)


# Called with (groups, event) for every event published after its commit (messaging.webhooks
# hands the events of chats to their bots' webhooks). A tap must be cheap when it has nothing to
# do: it runs on every publish. Work it needs goes through run_after_publish.
_publish_taps: list[Callable[[list[str], dict], None]] = []


def on_publish(tap: Callable[[list[str], dict], None]) -> Callable:
    _publish_taps.append(tap)
    return tap


def run_after_publish(work: Callable[[], None]) -> None:
    """From a tap: run ``work`` (sync, may use the database) after this call's events have gone
    out: for a socket, with its follow-ups (never delaying the ack or the delivery); else now."""
    follow_ups = _follow_ups.get()
    if follow_ups is not None:
        follow_ups.append(work)
    else:
        work()


def after_commit_and_publish(work) -> None:
    """Run ``work`` (sync, may use the database and publish) once the transaction commits and,
    for a socket, once the events of this call have gone out: work the sender need not wait for
    (notifying people who are away) then never delays the message itself."""
    def committed():
        follow_ups = _follow_ups.get()
        if follow_ups is not None:
            follow_ups.append(work)
        else:
            work()

    transaction.on_commit(committed)


def start_on_loop_after_commit(start: Callable[[], Any]) -> None:
    """Once the transaction commits (and, for a socket, once this call's events are out), run the
    coroutine function ``start`` as a task on the event loop: long-running work (an assistant's
    stream) that must hold no database thread. From a socket it runs on the socket's loop; from an
    HTTP view under ASGI, on the server's loop; with no loop at all (a command, a sync test), at
    once to its end."""
    def committed():
        loop_work = _loop_work.get()
        if loop_work is not None:
            loop_work.append(start)
            return
        from asgiref.sync import SyncToAsync

        loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(_start_task, start)
        else:
            async_to_sync(_await)(start)

    transaction.on_commit(committed)


async def _await(start) -> None:
    await start()


def _start_task(start) -> None:
    task = asyncio.ensure_future(start())
    _running.add(task)
    task.add_done_callback(_follow_up_done)


async def publish_async(groups: Iterable[str], event: dict) -> None:
    """Publish from the event loop, at once (work that runs there, outside any transaction)."""
    if settings.PROTOCOL_CHECKS:
        from . import protocol

        protocol.enforce("event", protocol.check_layer_event, event)
    layer = get_channel_layer()
    if layer is not None:
        await _send_all(layer, [(list(groups), event)])


def publish_now(groups: Iterable[str], event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(_send_all)(layer, [(list(groups), event)])


async def _send_all(layer, batch: list[tuple[list[str], dict]]) -> None:
    for groups, event in batch:
        for group in groups:
            await layer.group_send(group, event)


_database_executor: ThreadPoolExecutor | None = None


def _database_thread() -> ThreadPoolExecutor:
    global _database_executor
    if _database_executor is None:
        _database_executor = ThreadPoolExecutor(max_workers=settings.SOCKET_DATABASE_THREADS,
                                                thread_name_prefix="socket-db")
    return _database_executor


def stop_database_threads() -> None:
    """Let the sockets' database threads finish their work and end (the end of a test run): the
    SQLite connections they keep are closed (PostgreSQL's go back to the pool after every call).
    A later call starts new threads."""
    global _database_executor
    executor, _database_executor = _database_executor, None
    if executor is None:
        return
    for future in [executor.submit(connections.close_all) for _ in range(settings.SOCKET_DATABASE_THREADS)]:
        future.result(timeout=10)
    executor.shutdown(wait=True)


def _release_connections() -> None:
    """After each call: a pooled connection goes back to the pool (held by a thread for the life of
    the process, it would escape the pool's checks and keep a test database from being dropped);
    a broken one is closed; the rest (SQLite) stay with this thread for its next call."""
    for connection in connections.all(initialized_only=True):
        if getattr(connection, "pool", None) is not None:
            connection.close()
        elif connection.errors_occurred:
            if connection.is_usable():
                connection.errors_occurred = False
            else:
                connection.close()


async def in_database_thread(function, /, *args, **kwargs):
    """Run sync database code for a socket, off the event loop.

    The sockets have database threads of their own (``SOCKET_DATABASE_THREADS``: one on SQLite,
    which has one writer anyway, a few on PostgreSQL) instead of Channels' database_sync_to_async,
    which copies every context variable there and back on each call (~0.2 ms per frame on the
    event loop, cProfile) and closes the connection after it (CONN_MAX_AGE is 0, as Django advises
    under ASGI, where each HTTP request gets a thread of its own). These threads live as long as
    the process, so each keeps its connection: opening a SQLite connection cost more than a send.
    """
    def run():
        try:
            return function(*args, **kwargs)
        finally:
            _release_connections()

    return await asyncio.get_running_loop().run_in_executor(_database_thread(), run)


async def call_service(service, /, **kwargs):
    """Run the sync ``service`` in a database thread, then publish what it committed.

    Events committed before a failure are still published (a later step may fail after an earlier
    transaction committed); then the failure is raised to the caller. Follow-up work
    (after_commit_and_publish) is started after the events and not awaited.
    """
    result, error, outbox, follow_ups, loop_work = await in_database_thread(_collecting, service, kwargs)
    if outbox:
        layer = get_channel_layer()
        if layer is not None:
            await _send_all(layer, outbox)
    if follow_ups:
        task = asyncio.ensure_future(call_service(_run_all, work=follow_ups))
        _running.add(task)
        task.add_done_callback(_follow_up_done)
    for start in loop_work:
        _start_task(start)
    if error is not None:
        raise error
    return result


def _collecting(service, kwargs):
    outbox, follow_ups, loop_work = [], [], []
    tokens = _outbox.set(outbox), _follow_ups.set(follow_ups), _loop_work.set(loop_work)
    try:
        return service(**kwargs), None, outbox, follow_ups, loop_work
    except Exception as error:  # re-raised by call_service, once the committed events are out
        return None, error, outbox, follow_ups, loop_work
    finally:
        _outbox.reset(tokens[0])
        _follow_ups.reset(tokens[1])
        _loop_work.reset(tokens[2])


def _run_all(*, work) -> None:
    for item in work:
        item()


_running: set[asyncio.Task] = set()  # follow-ups in flight, kept referenced until they finish


def _follow_up_done(task: asyncio.Task) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("follow-up work failed", exc_info=task.exception())


# --- The frame router ----------------------------------------------------------------------------
#
# Each app declares its socket frames in its own frames.py (imported by its AppConfig.ready()):
#
#     @realtime.frame("message.send", rate=lambda: settings.MESSAGE_RATE_LIMIT)
#     def send(socket: Socket, frame: protocol.MessageSend) -> dict | None: ...
#
# The transport (chatsite.consumers) parses and validates a frame against its model in
# chatsite.protocol, applies the frame type's rate limit, then runs the handler: in a database
# thread through call_service (``database=True``, the default: sync code, events published after
# it returns) or on the event loop (``database=False``: an async handler that must not block).
# The dict a handler returns is sent back to that socket.


@dataclass
class Socket:
    """What a frame handler may know of the socket it serves."""
    user: Any
    session_key: str | None
    conversation_ids: set[int] = field(default_factory=set)
    state: dict = field(default_factory=dict)  # per-app state (e.g. presence's "active")
    api: bool = False  # signed in with a bearer token or a ticket: gets the JSON twins of events
    read_only: bool = False  # a read-only token's socket: only protocol.READ_ONLY_FRAMES


@dataclass(frozen=True)
class FrameType:
    name: str
    handler: Callable
    model: type
    database: bool
    rate: Callable[[], str]


_frame_types: dict[str, FrameType] = {}
_frame_types_view = MappingProxyType(_frame_types)
_open_hooks: list[Callable] = []
_close_hooks: list[Callable] = []


def frame(name: str, *, rate: str | Callable[[], str], database: bool = True):
    """Register the handler of the client frame ``name`` (declared in chatsite.protocol.FRAMES).
    ``rate`` ("N/10s", or a callable returning one, for a setting) is per user and per process."""
    from . import protocol

    model = protocol.FRAMES[name]  # a KeyError here: declare the frame in chatsite/protocol.py first

    def register(handler):
        if name in _frame_types:
            raise ImproperlyConfigured(f"socket frame {name!r} is registered twice")
        _frame_types[name] = FrameType(name, handler, model, database, rate if callable(rate) else (lambda: rate))
        return handler

    return register


def frame_types() -> Mapping[str, FrameType]:
    """The registered frame types (a read-only view: asked on every frame, never copied)."""
    return _frame_types_view


def on_socket_open(hook: Callable) -> Callable:
    """``hook(socket)`` runs in a database thread when a socket opens, before it is accepted; it
    may fill ``socket.conversation_ids`` (the transport then joins their groups)."""
    _open_hooks.append(hook)
    return hook


def on_socket_close(hook: Callable) -> Callable:
    """``hook(socket)`` runs in a database thread when a socket closes, for whatever reason."""
    _close_hooks.append(hook)
    return hook


def run_open_hooks(*, socket: Socket) -> None:
    for hook in _open_hooks:
        hook(socket)


def run_close_hooks(*, socket: Socket) -> None:
    for hook in _close_hooks:
        hook(socket)


class FrameLimiter:
    """Per-user, per-frame-type fixed windows, in this process's memory: a frame refused here costs
    no database or cache call. (Services keep their own limits in the shared cache where a limit
    must hold across processes, such as MESSAGE_RATE_LIMIT on sends over HTTP and socket alike.)"""

    def __init__(self):
        self._windows: dict[tuple[int, str], list] = {}
        self._next_sweep = 0.0

    def allow(self, user_id: int, frame_type: FrameType) -> bool:
        limit, window = parse_rate(frame_type.rate())
        now = time.monotonic()
        if now >= self._next_sweep:
            self._sweep(now)
        key = (user_id, frame_type.name)
        entry = self._windows.get(key)
        if entry is None or now >= entry[0]:
            self._windows[key] = [now + window, 1]
            return True
        entry[1] += 1
        return entry[1] <= limit

    def reset(self) -> None:
        self._windows.clear()

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + 60
        self._windows = {key: entry for key, entry in self._windows.items() if entry[0] > now}


frame_limiter = FrameLimiter()
