"""Presence frames of the socket (see chatsite.protocol): a tab says whether it is in use, and pings."""

from chatsite import protocol
from chatsite.realtime import Socket, frame

from . import push
from .services import presence


@frame("presence", rate="30/10s")
def set_presence(*, socket: Socket, frame: protocol.Presence) -> None:
    """The tab was hidden or left idle (active: false), or is in use again (active: true)."""
    if frame.active != socket.state.get("active", True):
        socket.state["active"] = frame.active
        presence.set_active(user=socket.user, active=frame.active, conversation_ids=list(socket.conversation_ids))


@frame("ping", rate="120/m")
def ping(*, socket: Socket, frame: protocol.Ping) -> dict:
    presence.heartbeat(user=socket.user)
    return {"type": "pong"}


@frame("push.device", rate="30/m")
def push_device(*, socket: Socket, frame: protocol.PushDevice) -> None:
    """Which push subscription this tab's device has, and whether the tab is visible: a device
    looking at the site gets no push (a cache key: no query)."""
    push.report_device(user=socket.user, endpoint=frame.endpoint, visible=frame.visible)
