"""The embedded channel layer: Channels' in-memory layer without its per-call costs.

``channels.layers.InMemoryChannelLayer`` (4.3) walks every channel and every group membership of
the process on each ``receive`` and each ``group_send`` to expire old messages, deep-copies the
event for each recipient and starts an asyncio task per recipient. With thousands of sockets that
walk alone took half the server's CPU (bench/results: idle-socket shape), and a 20-member fan-out
paid a task and a deepcopy per member. This layer keeps the same semantics (capacity, expiry,
groups; no group expiry, see below) with the expiry walk done at most once a second, and delivers a group message to each
local queue directly, or straight into the consumer's own inbox when it attached one (``attach``). Events are plain dicts of strings and numbers built once per change
(messaging.events): each recipient gets its own shallow copy, so no consumer can alter another's.

Production uses channels_redis instead (REDIS_URL); this layer is for one process only.
"""

import asyncio
import time
from collections.abc import Callable

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

CLEAN_INTERVAL = 1.0  # seconds between expiry walks


class LocalChannelLayer(InMemoryChannelLayer):
    def __init__(self, *args, **kwargs):
        # No group expiry: Channels' default (a day) drops a live socket, kept open by its pings,
        # from its groups 24 hours after it joined, and nothing adds it back. Sockets leave their
        # groups when they close (chatsite.consumers cleans up however a socket ends), and a
        # crashed process takes its in-memory groups with it.
        kwargs["group_expiry"] = float("inf")
        super().__init__(*args, **kwargs)
        self._next_clean = 0.0
        self._deliver_to: dict[str, Callable[[dict], None]] = {}

    def attach(self, channel: str, deliver: Callable[[dict], None]) -> None:
        """Hand this channel's messages straight to ``deliver`` (a consumer putting them in its own
        inbox, which decides what a full inbox means: chatsite.consumers closes the socket) instead
        of queueing them for the consumer to read: one queue and one task wake-up less per event
        and recipient."""
        self._deliver_to[channel] = deliver

    def detach(self, channel: str) -> None:
        self._deliver_to.pop(channel, None)

    def _clean_expired(self):
        now = time.monotonic()
        if now < self._next_clean:
            return
        self._next_clean = now + CLEAN_INTERVAL
        super()._clean_expired()

    def _put(self, channel: str, message: dict, expires: float) -> None:
        deliver = self._deliver_to.get(channel)
        if deliver is not None:
            try:
                deliver(dict(message))
            except asyncio.QueueFull:
                raise ChannelFull(channel) from None
            return
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        try:
            queue.put_nowait((expires, dict(message)))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def send(self, channel, message):
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        self._put(channel, message, time.time() + self.expiry)

    async def group_send(self, group, message):
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        expires = time.time() + self.expiry
        for channel in list(self.groups.get(group, ())):
            try:
                self._put(channel, message, expires)
            except ChannelFull:
                pass  # as the in-memory layer: a full (stuck) socket misses the live push, resume fills in
