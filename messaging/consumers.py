"""The one WebSocket of a browser tab. Transport only: every change goes through messaging.services.

Client -> server frames (JSON): message.send, typing, read, delivered, resume, ping.
Server -> client frames: the events of messaging.events, plus message.ack / error / history / pong.
"""

import asyncio
import functools
import json
import logging

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer

from accounts.services import presence
from chatsite.errors import ServiceError
from chatsite.realtime import call_service, conversation_group, in_database_thread, session_group, user_group

from . import selectors, services
from .events import render_message

logger = logging.getLogger(__name__)

INBOX_SIZE = 100  # a socket's pending frames and events; the in-memory layer's channel capacity


class ChatConsumer(AsyncWebsocketConsumer):
    async def __call__(self, scope, receive, send):
        """AsyncConsumer.__call__ with a cheaper loop. Channels' await_many_dispatch waits with
        asyncio.wait and starts a new task for every frame and every event; here one long-lived
        task per source feeds a single inbox, and the messages are still handled one at a time,
        in arrival order, as Channels does."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = await self.channel_layer.new_channel()
        self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
        self.base_send = send
        # Bounded, so a socket that cannot keep up loses live events, not memory: the layer drops
        # what overflows (as Channels' layers do at their capacity) and the tab's resume fills the gap.
        inbox = asyncio.Queue(maxsize=INBOX_SIZE)

        async def pump(source):
            try:
                while True:
                    await inbox.put((await source(), None))
            except Exception as error:  # handed to the loop below, which raises it
                inbox.put_nowait((None, error))

        sources = [receive]
        attach = getattr(self.channel_layer, "attach", None)  # the embedded layer delivers straight in
        if attach is not None:
            attach(self.channel_name, lambda message: inbox.put_nowait((message, None)))
        else:
            sources.append(self.channel_receive)
        pumps = [asyncio.ensure_future(pump(source)) for source in sources]
        try:
            while True:
                message, error = await inbox.get()
                if error is not None:
                    raise error
                await self.dispatch(message)
        except StopConsumer:
            pass
        finally:
            if attach is not None:
                self.channel_layer.detach(self.channel_name)
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.user = user
        # The user's own groups first, the list of chats second: a removal published in between
        # then still reaches this socket (as conversation.left) instead of being missed.
        self.conversation_ids = set()
        # Signing out of this browser session (or deleting the account) closes its sockets at once.
        self.fixed_groups = [user_group(user.pk), session_group(self.scope["session"].session_key)]
        for group in self.fixed_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        # One database call: the chats to follow, and the user counted online. The presence news
        # it publishes reaches this socket's own queue, so it is sent after the hello below.
        self.conversation_ids = set(await call_service(services.open_socket, user=user))
        for conversation_id in self.conversation_ids:
            await self.channel_layer.group_add(conversation_group(conversation_id), self.channel_name)
        await self.accept()
        await self._send({"type": "hello", "user_id": user.pk})
        self.active = True

    async def disconnect(self, code):
        if not hasattr(self, "user"):
            return
        if hasattr(self, "active"):
            await call_service(
                presence.socket_closed, user=self.user, was_active=self.active, conversation_ids=list(self.conversation_ids))
        for group in self.fixed_groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        for conversation_id in self.conversation_ids:
            await self.channel_layer.group_discard(conversation_group(conversation_id), self.channel_name)

    async def dispatch(self, message):
        """Channels' own dispatch hops to the database thread (close_old_connections) before every
        message, forwarded events included: a 20-member fan-out paid 20 thread hops per message,
        all queued behind the sends. Only the handlers that use the database need that, and they
        go through chatsite.realtime.in_database_thread, which does that housekeeping after each call."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def _send(self, payload: dict) -> None:
        await self.send(text_data=json.dumps(payload))

    # --- frames from the browser -----------------------------------------------------------
    async def receive(self, text_data=None, bytes_data=None):
        try:
            frame = json.loads(text_data or "")
            frame_type = frame["type"]
        except (ValueError, KeyError, TypeError):
            frame_type = None
        if not isinstance(frame_type, str):
            await self._send({"type": "error", "error": "That frame is not valid JSON with a type."})
            return
        handler = self.FRAME_HANDLERS.get(frame_type)
        if handler is None:
            await self._send({"type": "error", "error": f"Unknown frame type {frame_type!r}."})
            return
        try:
            await handler(self, frame)
        except ServiceError as error:
            await self._send({"type": "error", "for": frame_type, "client_id": frame.get("client_id"),
                              "conversation": frame.get("conversation"), "error": error.message})
        except Exception:
            # One bad frame must not cost the tab its socket: log it, answer, and carry on.
            logger.exception("frame %r failed", frame_type)
            await self._send({"type": "error", "for": frame_type, "client_id": frame.get("client_id"),
                              "error": "Something went wrong on the server. Please try again."})

    async def _on_send(self, frame):
        result = await call_service(
            services.send_message, user=self.user, conversation_id=frame.get("conversation"), body=frame.get("body"),
            client_id=frame.get("client_id") or "", reply_to_id=frame.get("reply_to") or None,
        )
        message = result.message
        await self._send({"type": "message.ack", "client_id": message.client_id, "conversation": message.conversation_id,
                          "seq": message.seq, "id": message.pk, "duplicate": not result.created})

    async def _on_typing(self, frame):
        await call_service(services.notify_typing, user=self.user, conversation_id=frame.get("conversation"))

    async def _on_read(self, frame):
        await call_service(services.mark_read, user=self.user, conversation_id=frame.get("conversation"), seq=frame.get("seq"))

    async def _on_delivered(self, frame):
        await call_service(services.mark_delivered, user=self.user, conversation_id=frame.get("conversation"), seq=frame.get("seq"))

    async def _on_resume(self, frame):
        """Everything after the last seq the tab holds, oldest first, in pages of at most 200."""
        payload = await in_database_thread(self._history_after, frame.get("conversation"), frame.get("after_seq"))
        await self._send(payload)

    def _history_after(self, conversation_id, after_seq) -> dict:
        membership = selectors.access_membership(self.user, conversation_id)
        try:
            after_seq = max(int(after_seq), 0)
        except (TypeError, ValueError):
            raise ServiceError("Resume needs the last message number the page holds.") from None
        messages, more = selectors.list_messages(membership.conversation_id, after_seq=after_seq, limit=200)
        starred = selectors.starred_ids(self.user, messages)
        return {
            "type": "history", "conversation": membership.conversation_id, "after_seq": after_seq, "more": more,
            "messages": [{"seq": m.seq, "id": m.pk, "client_id": m.client_id if m.sender_id == self.user.pk else "",
                          "sender_id": m.sender_id, "html": render_message(m, starred=starred)} for m in messages],
        }

    async def _on_ping(self, frame):
        await call_service(presence.heartbeat, user=self.user)
        await self._send({"type": "pong"})

    async def _on_presence(self, frame):
        """The tab was hidden or left idle (active: false), or is in use again (active: true)."""
        active = bool(frame.get("active"))
        if active != self.active:
            self.active = active
            await call_service(presence.set_active, user=self.user, active=active,
                               conversation_ids=list(self.conversation_ids))

    FRAME_HANDLERS = {
        "message.send": _on_send,
        "typing": _on_typing,
        "read": _on_read,
        "delivered": _on_delivered,
        "resume": _on_resume,
        "ping": _on_ping,
        "presence": _on_presence,
    }

    # --- events from the channel layer: the text was serialised once by messaging.events ------
    async def forward(self, event):
        # "exclude_user_ids": people the event must not reach (across a block, accounts.policy).
        if self.user.pk not in event.get("exclude_user_ids", ()):
            await self.send(text_data=event["text"])

    async def forward_if_member(self, event):
        # A removed member's socket may still have events queued from before it left the group.
        if event["conversation_id"] in self.conversation_ids and self.user.pk not in event.get("exclude_user_ids", ()):
            await self.send(text_data=event["text"])

    message_created = forward_if_member
    message_updated = forward_if_member
    receipt_updated = forward_if_member
    group_changed = forward_if_member
    conversation_changed = forward
    mention_created = forward
    notification_created = forward
    notifications_read = forward
    invitation_changed = forward
    friends_changed = forward
    presence_changed = forward

    async def typing_started(self, event):
        if (event["user_id"] != self.user.pk and event["conversation_id"] in self.conversation_ids
                and self.user.pk not in event.get("exclude_user_ids", ())):
            await self.send(text_data=event["text"])

    async def session_ended(self, event):
        await self.close(code=4401)  # the browser does not reconnect after 4401: it asks to sign in

    async def session_recheck(self, event):
        await self.close(code=4000)  # the browser reconnects; the handshake checks the session again

    async def conversation_joined(self, event):
        conversation_id = event["conversation_id"]
        if conversation_id not in self.conversation_ids:
            self.conversation_ids.add(conversation_id)
            await self.channel_layer.group_add(conversation_group(conversation_id), self.channel_name)
        await self.send(text_data=event["text"])

    async def conversation_left(self, event):
        conversation_id = event["conversation_id"]
        self.conversation_ids.discard(conversation_id)
        await self.channel_layer.group_discard(conversation_group(conversation_id), self.channel_name)
        await self.send(text_data=event["text"])

