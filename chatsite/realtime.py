"""The only code that talks to the channel layer.

Services call ``publish_on_commit`` so that an event leaves the process only after the database
commit that it describes: nobody is ever told about a row that was rolled back.
"""

from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def session_group(session_key: str) -> str:
    return f"session.{session_key}"


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def publish_on_commit(groups: Iterable[str], event: dict) -> None:
    """Send ``event`` to every channel-layer group in ``groups`` once the transaction commits."""
    groups = list(groups)
    transaction.on_commit(lambda: publish_now(groups, event))


def publish_now(groups: Iterable[str], event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(_send_all)(layer, list(groups), event)


async def _send_all(layer, groups: list[str], event: dict) -> None:
    for group in groups:
        await layer.group_send(group, event)
