"""The embedded channel layer: one process, in memory, on Channels' public BaseChannelLayer.

Channels' own ``InMemoryChannelLayer`` (4.3) walks every channel and every group membership of the
process on each ``receive`` and ``group_send`` to expire old entries, deep-copies each event per
recipient and starts an asyncio task per recipient; with thousands of sockets the walk alone took
half the server's CPU (docs/performance.md). It also expires group memberships a day after they
were made (``group_expiry``): a socket kept open by its pings then stops hearing its chats.

This layer keeps the channel-layer contract with none of that:
- groups are plain sets, and never expire: a socket leaves its groups when it closes
  (chatsite.consumers cleans up however a socket ends), and a crashed process takes its
  in-memory groups with it;
- a consumer may ``attach`` a callback that takes its events straight into its own inbox (no
  queue and no task wake-up per event and recipient); the consumer decides what a full inbox
  means (it closes the socket for resume);
- other channels get a bounded queue (``capacity``); a full one refuses ``send`` (ChannelFull) and
  misses a ``group_send``, as the specification says; messages older than ``expiry`` are dropped
  when read.
Events are plain dicts built once per change (messaging.events): each recipient gets its own
shallow copy, so no consumer can alter another's.

Production uses channels_redis instead (REDIS_URL).
"""

import asyncio
import random
import string
import time
from collections import defaultdict, deque
from collections.abc import Callable

from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer


class LocalChannelLayer(BaseChannelLayer):
    extensions = ["groups"]

    def __init__(self, expiry=60, capacity=100, channel_capacity=None, **kwargs):
        super().__init__(expiry=expiry, capacity=capacity, channel_capacity=channel_capacity)
        self.channel_capacity = self.compile_capacities(self.channel_capacity)
        self.groups: dict[str, set[str]] = defaultdict(set)
        self._queues: dict[str, deque] = {}
        self._waiters: dict[str, asyncio.Future] = {}
        self._deliver_to: dict[str, Callable[[dict], None]] = {}

    # --- channels -------------------------------------------------------------------------------
    async def new_channel(self, prefix="specific."):
        return f"{prefix}inmemory!{''.join(random.choices(string.ascii_letters, k=12))}"

    def attach(self, channel: str, deliver: Callable[[dict], None]) -> None:
        """Hand this channel's messages straight to ``deliver`` instead of queueing them."""
        self._deliver_to[channel] = deliver

    def detach(self, channel: str) -> None:
        self._deliver_to.pop(channel, None)
        self._queues.pop(channel, None)

    def _put(self, channel: str, message: dict) -> None:
        deliver = self._deliver_to.get(channel)
        if deliver is not None:
            try:
                deliver(dict(message))
            except asyncio.QueueFull:  # a callback with a bounded queue of its own
                raise ChannelFull(channel) from None
            return
        queue = self._queues.get(channel)
        if queue is None:
            queue = self._queues[channel] = deque()
        if len(queue) >= self.get_capacity(channel):
            raise ChannelFull(channel)
        queue.append((time.monotonic() + self.expiry, dict(message)))
        waiter = self._waiters.pop(channel, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def send(self, channel, message):
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        self._put(channel, message)

    async def receive(self, channel):
        self.require_valid_channel_name(channel)
        while True:
            queue = self._queues.get(channel)
            while queue:
                expires, message = queue.popleft()
                if expires >= time.monotonic():
                    return message
            waiter = self._waiters.get(channel)
            if waiter is None or waiter.done():
                waiter = self._waiters[channel] = asyncio.get_running_loop().create_future()
            await waiter

    async def flush(self):
        self.groups.clear()
        self._queues.clear()
        self._deliver_to.clear()

    async def close(self):
        pass

    # --- groups ---------------------------------------------------------------------------------
    async def group_add(self, group, channel):
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        self.groups[group].add(channel)

    async def group_discard(self, group, channel):
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        members = self.groups.get(group)
        if members is not None:
            members.discard(channel)
            if not members:
                del self.groups[group]

    async def group_send(self, group, message):
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        for channel in list(self.groups.get(group, ())):
            try:
                self._put(channel, message)
            except ChannelFull:
                pass  # a full queue misses the live push (the specification); resume fills the gap
