"""The one WebSocket of a browser tab (or an API client): generic transport.

It signs the socket in (chatsite.ws_auth ran at the handshake), joins the user's groups, and then
does two things, one message at a time in arrival order:
- frames from the client: size- and depth-checked, parsed, validated against chatsite.protocol,
  rate-limited per frame type, and handed to the handler an app registered
  (``chatsite.realtime.frame``); a bad frame is answered with an ``error`` frame and a code, and
  never costs the socket;
- events from the channel layer: forwarded as the JSON text they carry, after the routing keys
  (chatsite.protocol.ROUTING_KEYS) say whether this socket gets them.

A socket that cannot keep up (more than ``SOCKET_INBOX_SIZE`` events waiting) is closed with
CLOSE_LAGGING: the tab reconnects and resumes, memory stays bounded whatever the layer, and nothing
is silently lost (a membership change included: the reconnect lists the chats afresh).
"""

import asyncio
import json
import logging
import re
import time
import uuid
from collections import defaultdict

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils.translation import gettext as _
from pydantic import ValidationError

from . import protocol
from .errors import ErrorCode, ServiceError
from .realtime import (
    Socket,
    call_service,
    conversation_group,
    frame_limiter,
    frame_types,
    run_close_hooks,
    run_open_hooks,
    session_group,
    token_group,
    user_group,
)
from .request_id import request_id

logger = logging.getLogger(__name__)

MAX_DEPTH = 8  # frames are flat objects; an ICE candidate nests two levels
_BRACKETS = re.compile(r"[\[\]{}]")
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_PENDING_FRAMES = 8  # frames read ahead of the one being handled; the client then waits (TCP backpressure)

_sockets_per_user: dict[int, int] = defaultdict(int)  # this process's open sockets, per person


def _reject_constant(name):
    raise ValueError(f"{name} is not a number")


def _too_deep(text: str) -> bool:
    """Nested more than MAX_DEPTH, counted outside strings. Only texts with many brackets are
    scanned at all, so an ordinary frame pays two C-level counts."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False


def parse_frame(text) -> dict:
    """The frame as a dict with a string ``type``, or ServiceError (bad_frame / frame_too_large)."""
    if not isinstance(text, str):
        raise ServiceError(_("Frames are JSON text; binary frames are not accepted."), code=ErrorCode.BAD_FRAME)
    if len(text) > settings.SOCKET_FRAME_MAX_BYTES:  # characters: at most as many as bytes
        raise ServiceError(_("That frame is too large (at most %(max)s bytes).")
                           % {"max": f"{settings.SOCKET_FRAME_MAX_BYTES:,}"}, code=ErrorCode.FRAME_TOO_LARGE)
    if _too_deep(text):
        raise ServiceError(_("That frame is nested too deeply."), code=ErrorCode.BAD_FRAME)
    try:
        frame = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ServiceError(_("That frame is not valid JSON."), code=ErrorCode.BAD_FRAME) from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise ServiceError(_("A frame is a JSON object with a “type”."), code=ErrorCode.BAD_FRAME)
    return frame


def _error_frame(error: ServiceError, frame: dict | None) -> dict:
    frame = frame or {}
    reply = {"type": "error", "code": str(error.code), "error": error.message, "request_id": request_id.get()}
    frame_type = frame.get("type")
    reply["for"] = frame_type if isinstance(frame_type, str) and frame_type in frame_types() else None
    client_id = frame.get("client_id")
    if isinstance(client_id, str) and len(client_id) <= 64:
        reply["client_id"] = client_id
    conversation = frame.get("conversation")
    if type(conversation) is int and 0 < conversation <= protocol.MAX_ID:
        reply["conversation"] = conversation
    if error.field:
        reply["field"] = error.field
    return reply


class SocketConsumer(AsyncConsumer):
    async def __call__(self, scope, receive, send):
        """AsyncConsumer.__call__ with a cheaper loop. Channels' await_many_dispatch waits with
        asyncio.wait and starts a new task for every frame and every event; here one long-lived
        task per source feeds a single inbox, and the messages are still handled one at a time,
        in arrival order, as Channels does."""
        self.scope = scope
        self.base_send = send
        self.socket = None
        self.closed = False
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = await self.channel_layer.new_channel()
        self._task = asyncio.current_task()
        self._lagging = False
        self.socket_id, self.frames_received = uuid.uuid4().hex[:12], 0
        self._in_service = False  # a service call must run to its end: its events go out after it
        self._cancelling = False
        self._events_waiting = 0
        self.api = scope.get("api")  # chatsite.ws_auth.ApiSocket for an app's or a bot's socket
        self._expiry = None
        inbox = self._inbox = asyncio.Queue()
        frames_ahead = asyncio.Semaphore(_PENDING_FRAMES)

        async def pump_client():
            try:
                while True:
                    await frames_ahead.acquire()
                    inbox.put_nowait((await receive(), frames_ahead))
            except Exception as error:  # handed to the loop below, which raises it
                inbox.put_nowait((error, None))

        async def pump_layer():
            try:
                while True:
                    self._deliver(await self.channel_layer.receive(self.channel_name))
            except Exception as error:
                inbox.put_nowait((error, None))

        pumps = [asyncio.ensure_future(pump_client())]
        attach = getattr(self.channel_layer, "attach", None)  # the embedded layer delivers straight in
        if attach is not None:
            attach(self.channel_name, self._deliver)
        else:
            pumps.append(asyncio.ensure_future(pump_layer()))
        try:
            while True:
                message, slot = await inbox.get()
                if isinstance(message, Exception):
                    raise message
                if slot is not None:
                    slot.release()
                else:
                    self._events_waiting -= 1
                await self.dispatch(message)
                if self._lagging:
                    await self._close_quickly(protocol.CLOSE_LAGGING)
                    break
        except StopConsumer:
            pass
        except asyncio.CancelledError:
            if not self._lagging:
                raise
            await self._close_quickly(protocol.CLOSE_LAGGING)
        finally:
            if self._expiry is not None:
                self._expiry.cancel()
            if attach is not None:
                self.channel_layer.detach(self.channel_name)
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            # Whatever ended the socket (a close, an error, a cancellation), its cleanup runs once.
            await asyncio.shield(self._cleanup())

    def _deliver(self, event: dict) -> None:
        """An event for this socket, from the layer. Past the inbox's bound, the socket is dropped
        (CLOSE_LAGGING) instead of the event: a stuck socket costs neither memory nor other people's
        latency, and its tab resumes from the last seq it holds."""
        if not self._lagging:
            if self._events_waiting < settings.SOCKET_INBOX_SIZE:
                self._events_waiting += 1
                self._inbox.put_nowait((event, None))
                return
            self._lagging = True
        self._stop_lagging_socket()

    def _stop_lagging_socket(self) -> None:
        """Cancel the socket's loop, which may be stuck sending to a client that does not read; a
        service call in progress is let finish first (what it committed must be published)."""
        if self._lagging and not self._in_service and not self._cancelling:
            self._cancelling = True
            self._task.cancel()

    async def _close_quickly(self, code: int) -> None:
        """Close without waiting on a client that does not read (its send buffer may be full)."""
        if self.closed:
            return
        self.closed = True
        try:
            await asyncio.wait_for(self.base_send({"type": "websocket.close", "code": code}), timeout=1)
        except Exception:  # the client is gone or stuck: nothing more to tell it
            pass

    async def dispatch(self, message):
        kind = message["type"]
        if kind == "websocket.receive":
            await self.on_frame(message.get("text"), message.get("bytes"))
        elif kind == "websocket.connect":
            await self.on_connect()
        elif kind == "websocket.disconnect":
            raise StopConsumer()
        else:
            await self.on_event(message)

    async def _service(self, service, /, **kwargs):
        """call_service, never cancelled half-way: what the service committed is always published."""
        self._in_service = True
        try:
            return await call_service(service, **kwargs)
        finally:
            self._in_service = False
            self._stop_lagging_socket()

    async def send_json(self, payload: dict) -> None:
        if settings.PROTOCOL_CHECKS:
            api = self.api is not None
            protocol.enforce("reply", lambda p: protocol.check_outgoing(p, api=api), payload)
        await self.base_send({"type": "websocket.send", "text": json.dumps(payload)})

    async def close(self, code: int, reason: str = "") -> None:
        if not self.closed:
            self.closed = True
            message = {"type": "websocket.close", "code": code}
            if reason:
                message["reason"] = reason
            await self.base_send(message)
        raise StopConsumer()

    def _accept(self) -> dict:
        """An API socket is accepted with the subprotocol it asked for (chat.v1), never with the
        ``bearer.<token>`` it offered beside it: the token is not echoed back."""
        if self.api is not None and self.api.subprotocol:
            return {"type": "websocket.accept", "subprotocol": self.api.subprotocol}
        return {"type": "websocket.accept"}

    async def _refuse_api_credential(self):
        """A bad token or ticket: accepted, told why in an error frame, closed with CLOSE_SIGNED_OUT
        (reconnecting with the same credential cannot help)."""
        await self.base_send(self._accept())
        if self.api.kind == "ticket":
            code, sentence = ErrorCode.TICKET_INVALID, _("That socket ticket is unknown, used already or expired: "
                                                         "ask POST /api/v1/socket/ticket for a new one.")
        else:
            code, sentence = ErrorCode.UNAUTHORIZED, _("That token is not valid (unknown, revoked or expired).")
        await self.send_json({"type": "error", "code": str(code), "error": sentence, "for": None,
                              "request_id": request_id.get()})
        await self.close(protocol.CLOSE_SIGNED_OUT, reason=str(code))

    def _expire(self) -> None:
        """The credential's time is up (a JWT access token's exp): closed as if signed out."""
        self._deliver({"type": "session.ended", "close_code": protocol.CLOSE_SIGNED_OUT})

    # --- opening and closing -------------------------------------------------------------------
    async def on_connect(self):
        user = self.scope.get("user")
        api = self.api
        if api is not None and api.credential is None:
            await self._refuse_api_credential()
        if user is None or not user.is_authenticated:
            await self.close(protocol.CLOSE_SIGNED_OUT)
        if _sockets_per_user[user.pk] >= settings.SOCKET_MAX_PER_USER:
            await self.base_send(self._accept())  # accepted first, so the tab sees the code
            await self.close(protocol.CLOSE_TOO_MANY)
        _sockets_per_user[user.pk] += 1
        session = self.scope.get("session")
        self.socket = Socket(user=user, session_key=session.session_key if session is not None else None,
                             api=api is not None, read_only=api is not None and api.credential.read_only)
        self.opened = True  # from here on, the close hooks undo whatever the open hooks did
        # The user's own groups first, the list of chats second: a removal published in between
        # then still reaches this socket (as conversation.left) instead of being missed.
        groups = [user_group(user.pk)] + ([session_group(self.socket.session_key)] if self.socket.session_key else [])
        if api is not None and api.credential.token_id:
            groups.append(token_group(api.credential.token_id))  # revoking the token closes the socket
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.fixed_groups = groups
        await self._service(run_open_hooks, socket=self.socket)
        for conversation_id in self.socket.conversation_ids:
            await self.channel_layer.group_add(conversation_group(conversation_id), self.channel_name)
        await self.base_send(self._accept())
        await self.send_json({"type": "hello", "user_id": user.pk})
        if api is not None and api.credential.expires_at is not None:
            delay = max(api.credential.expires_at - time.time(), 0)
            self._expiry = asyncio.get_running_loop().call_later(delay, self._expire)

    async def _cleanup(self):
        socket, self.socket = self.socket, None
        if socket is None:
            return
        _sockets_per_user[socket.user.pk] -= 1
        if _sockets_per_user[socket.user.pk] <= 0:
            del _sockets_per_user[socket.user.pk]
        try:
            if getattr(self, "opened", False):
                await self._service(run_close_hooks, socket=socket)
        except Exception:
            logger.exception("closing a socket's state failed")
        finally:
            groups = list(getattr(self, "fixed_groups", ()))
            groups += [conversation_group(cid) for cid in socket.conversation_ids]
            for group in groups:
                await self.channel_layer.group_discard(group, self.channel_name)

    # --- frames from the client ----------------------------------------------------------------
    async def on_frame(self, text, data):
        # Each frame has a request id, as an HTTP request does: in the logs of what it causes and in
        # the error frame that answers it. A counter on the socket's own id: no uuid per frame.
        self.frames_received += 1
        token = request_id.set(f"{self.socket_id}.{self.frames_received}")
        try:
            await self._on_frame(text, data)
        finally:
            request_id.reset(token)

    async def _on_frame(self, text, data):
        frame = None
        try:
            frame = parse_frame(text if text is not None else data)
            frame_type = frame_types().get(frame["type"])
            if frame_type is None:
                raise ServiceError(_("Unknown frame type “%(type)s”.") % {"type": frame["type"][:40]},
                                   code=ErrorCode.UNKNOWN_FRAME)
            if self.socket.read_only and frame_type.name not in protocol.READ_ONLY_FRAMES:
                raise ServiceError(_("This token is read-only: make a read and write token to change things."),
                                   code=ErrorCode.READ_ONLY_TOKEN)
            if not frame_limiter.allow(self.socket.user.pk, frame_type):
                raise ServiceError(_("Too many “%(type)s” frames. Please wait a moment.") % {"type": frame_type.name},
                                   code=ErrorCode.RATE_LIMITED)
            try:
                validated = frame_type.model.model_validate(frame)
            except ValidationError as error:
                field, sentence = protocol.validation_error(error)
                raise ServiceError(sentence, code=ErrorCode.BAD_FRAME, field=field) from None
            if frame_type.database:
                reply = await self._service(frame_type.handler, socket=self.socket, frame=validated)
            else:
                reply = await frame_type.handler(socket=self.socket, frame=validated)
        except ServiceError as error:
            await self.send_json(_error_frame(error, frame))
            return
        except (StopConsumer, asyncio.CancelledError):
            raise
        except Exception:
            # One bad frame must not cost the tab its socket: log it, answer, and carry on.
            logger.exception("socket frame %r failed", frame and frame.get("type"))
            await self.send_json(_error_frame(ServiceError(
                _("Something went wrong on the server. Please try again."), code=ErrorCode.SERVER_ERROR), frame))
            return
        if reply is not None:
            await self.send_json(reply)

    # --- events from the channel layer -----------------------------------------------------------
    async def on_event(self, event):
        """Forward ``event["text"]`` unless its routing keys say otherwise. Membership changes are
        applied to this socket before anything queued after them is forwarded."""
        socket = self.socket
        if socket is None:
            return
        close_code = event.get("close_code")
        if close_code:
            await self.close(close_code)
        conversation_id = event.get("conversation_id")
        kind = event["type"]
        if kind == "conversation.joined":
            if conversation_id not in socket.conversation_ids:
                socket.conversation_ids.add(conversation_id)
                await self.channel_layer.group_add(conversation_group(conversation_id), self.channel_name)
        elif kind == "conversation.left":
            socket.conversation_ids.discard(conversation_id)
            await self.channel_layer.group_discard(conversation_group(conversation_id), self.channel_name)
        elif conversation_id is not None and conversation_id not in socket.conversation_ids:
            return  # queued before this socket left the conversation
        excluded = event.get("exclude_user_ids")
        if excluded and socket.user.pk in excluded:
            return
        text = event.get("api_text") or event.get("text") if socket.api else event.get("text")
        if text is not None:
            await self.base_send({"type": "websocket.send", "text": text})


def open_socket_count(user_id: int) -> int:
    return _sockets_per_user.get(user_id, 0)


