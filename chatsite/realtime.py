"""The only code that talks to the channel layer.

Services call ``publish_on_commit`` so that an event leaves the process only after the database
commit that it describes: nobody is ever told about a row that was rolled back.

Sync callers (views, commands, tests) publish at once, from the thread that committed. The
WebSocket consumer calls services through ``call_service``, which collects the events the service
committed and publishes them from the event loop itself: no ``async_to_sync`` hop from the database
thread back to the loop for every event, and the database thread is free for the next frame sooner.
"""

from collections.abc import Iterable
from contextvars import ContextVar

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

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


async def call_service(service, /, **kwargs):
    """Run the sync ``service`` in the database thread, then publish what it committed.

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

    result, error, outbox = await database_sync_to_async(run)()
    if outbox:
        layer = get_channel_layer()
        if layer is not None:
            await _send_all(layer, outbox)
    if error is not None:
        raise error
    return result
