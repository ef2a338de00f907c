"""The only code that talks to the channel layer.

Services call ``publish_on_commit`` so that an event leaves the process only after the database
commit that it describes: nobody is ever told about a row that was rolled back.

Sync callers (views, commands, tests) publish at once, from the thread that committed. The
WebSocket consumer calls services through ``call_service``, which collects the events the service
committed and publishes them from the event loop itself: no ``async_to_sync`` hop from the database
thread back to the loop for every event, and the database thread is free for the next frame sooner.
"""

import asyncio
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections, transaction

# Set by call_service while a service runs on behalf of a socket: committed events wait here.
_outbox: ContextVar[list | None] = ContextVar("realtime_outbox", default=None)


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def session_group(session_key: str) -> str:
    return f"session.{session_key}"


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def publish_on_commit(groups: Iterable[str], event: dict) -> None:
    """Send ``event`` to every channel-layer group in ``groups`` once the transaction commits."""
    groups = list(groups)
    transaction.on_commit(lambda: _committed(groups, event))


def _committed(groups: list[str], event: dict) -> None:
    outbox = _outbox.get()
    if outbox is not None:
        outbox.append((groups, event))
    else:
        publish_now(groups, event)


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
    transaction committed); then the failure is raised to the caller.
    """
    def run():
        outbox = []
        token = _outbox.set(outbox)
        try:
            return service(**kwargs), None, outbox
        except Exception as error:  # re-raised below, once the committed events are out
            return None, error, outbox
        finally:
            _outbox.reset(token)

    result, error, outbox = await in_database_thread(run)
    if outbox:
        layer = get_channel_layer()
        if layer is not None:
            await _send_all(layer, outbox)
    if error is not None:
        raise error
    return result
