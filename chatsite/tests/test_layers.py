"""The embedded channel layer: groups, capacity and the consumers' own inboxes."""

import asyncio
import time

import pytest
from channels.exceptions import ChannelFull

from chatsite.layers import LocalChannelLayer


async def test_group_messages_reach_every_member_each_with_its_own_copy():
    layer = LocalChannelLayer()
    a, b = await layer.new_channel(), await layer.new_channel()
    for channel in (a, b):
        await layer.group_add("conversation.1", channel)
    event = {"type": "message.created", "text": "{}"}
    await layer.group_send("conversation.1", event)
    got_a, got_b = await layer.receive(a), await layer.receive(b)
    assert got_a == got_b == event and got_a is not got_b and got_a is not event
    await layer.group_discard("conversation.1", b)
    await layer.group_send("conversation.1", {"type": "x"})
    assert (await layer.receive(a))["type"] == "x"
    with pytest.raises(asyncio.TimeoutError):  # b left the group: nothing for it
        await asyncio.wait_for(layer.receive(b), timeout=0.05)


async def test_an_attached_inbox_gets_events_directly_and_a_full_one_drops_them():
    layer = LocalChannelLayer()
    channel = await layer.new_channel()
    await layer.group_add("user.7", channel)
    inbox = asyncio.Queue(maxsize=2)
    layer.attach(channel, inbox.put_nowait)
    for n in range(3):  # the third finds the inbox full: dropped, the sender is not held up
        await layer.group_send("user.7", {"type": "n", "n": n})
    assert [inbox.get_nowait()["n"] for _ in range(inbox.qsize())] == [0, 1]
    for n in range(2):
        await layer.send(channel, {"type": "direct", "n": n})
    with pytest.raises(ChannelFull):
        await layer.send(channel, {"type": "direct", "n": 2})
    layer.detach(channel)
    await layer.group_send("user.7", {"type": "queued"})  # detached: back to the channel queue
    assert (await layer.receive(channel))["type"] == "queued"


async def test_group_membership_never_expires_and_old_queued_messages_do(monkeypatch):
    layer = LocalChannelLayer(expiry=60)
    channel = await layer.new_channel()
    await layer.group_add("conversation.9", channel)
    await layer.group_send("conversation.9", {"type": "stale"})
    later = time.monotonic() + 86_401
    monkeypatch.setattr(time, "monotonic", lambda: later)
    await layer.group_send("conversation.9", {"type": "fresh"})  # a day on, still a member
    assert (await layer.receive(channel))["type"] == "fresh"  # the stale one expired unread
