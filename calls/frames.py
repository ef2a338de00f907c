"""The calls app's socket frames (fields in chatsite.protocol).

Call state changes (start, accept, decline, hang up, join) run in a database thread through the
services. Signalling (offer, answer, ICE candidates, media state) runs on the event loop and is
relayed only between people in the same call: each socket keeps, in its own state, the people of
the calls it is in (filled when it joins), so an ICE candidate costs a set lookup, not a query.
Only a target missing from that set (someone who joined after this socket did) costs one query,
which refreshes the set."""

import secrets

from channels.layers import get_channel_layer
from django.conf import settings
from django.utils.translation import gettext as _

from chatsite import protocol
from chatsite.errors import ErrorCode, InvalidInput, ServiceError
from chatsite.realtime import Socket, event, frame, in_database_thread, on_socket_close, user_group

from . import selectors, services
from .events import call_info
from .ice import ice_servers_for
from .models import Call, CallParticipant


def _token(socket: Socket) -> str:
    """This socket's own name for its part in a call (see CallParticipant.connection)."""
    return socket.state.setdefault("call_token", secrets.token_hex(8))


def _calls(socket: Socket) -> dict[int, set[int]]:
    return socket.state.setdefault("calls", {})


def _state(socket: Socket, call: Call) -> dict:
    joined = {p.user_id for p in call.participants.all() if p.status == CallParticipant.Status.JOINED}
    if call.is_active and socket.user.pk in joined:
        _calls(socket)[call.pk] = joined
    return {"type": "call.state", "call": call_info(call), "ice_servers": ice_servers_for(socket.user.pk),
            "max_participants": settings.CALL_MAX_PARTICIPANTS, "ring_seconds": settings.CALL_RING_SECONDS}


@frame("call.start", rate="10/m")
def start(*, socket: Socket, frame: protocol.CallStart) -> dict:
    call = services.start_call(user=socket.user, conversation_id=frame.conversation, kind=frame.kind,
                               connection=_token(socket))
    return _state(socket, call)


@frame("call.accept", rate="10/10s")
def accept(*, socket: Socket, frame: protocol.CallRef) -> dict:
    return _state(socket, services.accept_call(user=socket.user, call_id=frame.call, connection=_token(socket)))


@frame("call.join", rate="10/10s")
def join(*, socket: Socket, frame: protocol.CallRef) -> dict:
    return _state(socket, services.join_call(user=socket.user, call_id=frame.call, connection=_token(socket)))


@frame("call.decline", rate="10/10s")
def decline(*, socket: Socket, frame: protocol.CallRef) -> None:
    services.decline_call(user=socket.user, call_id=frame.call)


@frame("call.hangup", rate="10/10s")
def hangup(*, socket: Socket, frame: protocol.CallRef) -> None:
    _calls(socket).pop(frame.call, None)
    services.hang_up(user=socket.user, call_id=frame.call)


@frame("call.sync", rate="10/10s")
def sync(*, socket: Socket, frame: protocol.CallSync) -> dict:
    # Calls that rang too long are settled first, so that a tab asking after the ring timeout
    # hears "missed" even where no periodic sweep runs (a development server).
    services.expire_ringing()
    return {"type": "call.active", "calls": [call_info(call) for call in selectors.list_active_calls(socket.user)]}


@on_socket_close
def leave_for_now(socket: Socket) -> None:
    calls = socket.state.get("calls")
    if calls:
        services.disconnect(user=socket.user, call_ids=list(calls), connection=_token(socket))


# --- signalling: on the event loop ---------------------------------------------------------------

async def _members(socket: Socket, call_id: int, to: int | None) -> set[int]:
    calls = _calls(socket)
    members = calls.get(call_id)
    if members is None:
        raise ServiceError(_("You are not in that call."), code=ErrorCode.NOT_MEMBER)
    if to is not None and to not in members:
        members = await in_database_thread(selectors.joined_ids, call_id)
        if socket.user.pk not in members:
            calls.pop(call_id, None)
            raise ServiceError(_("You are not in that call."), code=ErrorCode.NOT_MEMBER)
        calls[call_id] = members
        if to not in members:
            raise ServiceError(_("That person is not in the call."), code=ErrorCode.NOT_MEMBER, field="to")
    return members


async def _send(user_ids, relayed: dict) -> None:
    if settings.PROTOCOL_CHECKS:
        protocol.enforce("event", protocol.check_layer_event, relayed)
    layer = get_channel_layer()
    for user_id in user_ids:
        await layer.group_send(user_group(user_id), relayed)


async def _relay_to(socket: Socket, frame, kind: str, payload: dict) -> None:
    if frame.to == socket.user.pk:
        raise InvalidInput(_("You cannot signal to yourself."), field="to")
    await _members(socket, frame.call, frame.to)
    await _send([frame.to], event(kind, {"call": frame.call, "from": socket.user.pk, **payload}))


@frame("call.offer", rate="30/10s", database=False)
async def offer(*, socket: Socket, frame: protocol.CallDescription) -> None:
    await _relay_to(socket, frame, "call.offer", {"sdp": frame.sdp})


@frame("call.answer", rate="30/10s", database=False)
async def answer(*, socket: Socket, frame: protocol.CallDescription) -> None:
    await _relay_to(socket, frame, "call.answer", {"sdp": frame.sdp})


@frame("call.ice", rate="300/10s", database=False)
async def ice(*, socket: Socket, frame: protocol.CallIce) -> None:
    await _relay_to(socket, frame, "call.ice", {"candidate": frame.candidate.model_dump(exclude_none=True)})


@frame("call.media", rate="30/10s", database=False)
async def media(*, socket: Socket, frame: protocol.CallMedia) -> None:
    members = await _members(socket, frame.call, None)
    await _send(members - {socket.user.pk}, event("call.media", {
        "call": frame.call, "from": socket.user.pk, "audio": frame.audio, "video": frame.video, "screen": frame.screen}))
