"""The socket protocol: every frame a client may send and every event or reply the server sends,
each declared once with its fields (pydantic models; the API publishes them as JSON Schema).

- ``FRAMES``: client -> server. The router (chatsite.realtime) validates each incoming frame
  against its model before any handler runs: ids and seqs are integers in range (never a float,
  a bool, NaN or 1e400), text is text, unknown fields are ignored (a newer client may send more).
- ``EVENTS``: server -> client, published by services through the channel layer.
- ``REPLIES``: server -> client, answers to one socket's frames.

Events and replies forbid fields they do not declare: the test suite checks every event it emits
(``check_outgoing``), so a field added in code without its declaration here fails a test.
"""

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from .errors import ErrorCode

MAX_ID = 2**63 - 1

Id = Annotated[int, Strict(), Field(ge=1, le=MAX_ID)]
Seq = Annotated[int, Strict(), Field(ge=0, le=MAX_ID)]
Text = Annotated[str, Strict()]
Flag = Annotated[bool, Strict()]


class Frame(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Outgoing(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- client -> server ------------------------------------------------------------------------

class MessageSend(Frame):
    """Send a message; answered by ``message.ack`` (or ``error`` with the same client_id)."""
    conversation: Id
    body: Text
    client_id: Annotated[str, Strict(), Field(max_length=64)] = ""
    reply_to: Id | None = None
    # Uploads (POST /uploads/) the message claims; with them ``body`` is an optional caption.
    attachments: Annotated[list[Id], Field(max_length=50)] = []


class Typing(Frame):
    conversation: Id


class ReadReceipt(Frame):
    """``read`` and ``delivered``: the highest seq the tab has shown (read) or received (delivered)."""
    conversation: Id
    seq: Seq


class Resume(Frame):
    """Everything after ``after_seq``; answered by ``history`` (pages of at most 200; ``more``)."""
    conversation: Id
    after_seq: Seq


class Presence(Frame):
    active: Flag


class Ping(Frame):
    pass


class PushDevice(Frame):
    """Web Push (accounts/push.py): this tab's device has the subscription ``endpoint`` and the tab
    is (or is no longer) visible; renewed by the tab while visible, so it expires with the tab."""
    endpoint: Annotated[str, Strict(), Field(min_length=1, max_length=1000)]
    visible: Flag


# Calls (calls/frames.py). Signalling is relayed only between people in the same call.
SDP_MAX = 20000  # an audio + video offer with many codecs is a few kilobytes
CallKind = Literal["audio", "video"]


class CallStart(Frame):
    """Ring the other people of a chat; answered by ``call.state`` (its status may be ``busy``)."""
    conversation: Id
    kind: CallKind


class CallRef(Frame):
    """``call.accept``, ``call.decline``, ``call.hangup``, ``call.join`` (join an ongoing call, or
    rejoin after a reload): the call's id. Accept and join are answered by ``call.state``."""
    call: Id


class CallSync(Frame):
    """What calls concern this person now (ringing for them, or theirs to rejoin): ``call.active``."""


class CallDescription(Frame):
    """``call.offer`` / ``call.answer``: a session description for one other person in the call."""
    call: Id
    to: Id
    sdp: Annotated[str, Strict(), Field(min_length=1, max_length=SDP_MAX)]


class IceCandidate(Frame):
    candidate: Annotated[str, Strict(), Field(max_length=1024)]
    sdpMid: Annotated[str, Strict(), Field(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Strict(), Field(ge=0, le=64)] | None = None
    usernameFragment: Annotated[str, Strict(), Field(max_length=256)] | None = None


class CallIce(Frame):
    call: Id
    to: Id
    candidate: IceCandidate


class CallMedia(Frame):
    """The sender's microphone, camera and screen share, for the others' tiles."""
    call: Id
    audio: Flag
    video: Flag
    screen: Flag


class AssistantStop(Frame):
    """Stop an assistant's answer (from any tab): what it wrote so far is stored."""
    conversation: Id
    stream: Annotated[str, Strict(), Field(min_length=1, max_length=64)]


FRAMES: dict[str, type[Frame]] = {
    "message.send": MessageSend,
    "typing": Typing,
    "read": ReadReceipt,
    "delivered": ReadReceipt,
    "resume": Resume,
    "presence": Presence,
    "ping": Ping,
    "push.device": PushDevice,
    "call.start": CallStart,
    "call.accept": CallRef,
    "call.decline": CallRef,
    "call.hangup": CallRef,
    "call.join": CallRef,
    "call.sync": CallSync,
    "call.offer": CallDescription,
    "call.answer": CallDescription,
    "call.ice": CallIce,
    "call.media": CallMedia,
    "assistant.stop": AssistantStop,
}


# --- server -> client: replies to one socket ----------------------------------------------------

class Hello(Outgoing):
    type: Literal["hello"]
    user_id: Id


class MessageAck(Outgoing):
    type: Literal["message.ack"]
    client_id: str
    conversation: Id
    seq: Seq
    id: Id
    duplicate: bool


class HistoryMessage(Outgoing):
    seq: Seq
    id: Id
    client_id: str
    sender_id: Id | None
    html: str


class MemberSummary(Outgoing):
    """A member as the chat page holds it: mention autocomplete, "N members", "Seen by N"."""
    id: Id
    username: str
    name: str
    read_seq: Seq
    joined_at: str  # ISO 8601: "Seen by" counts a member only for messages from after they joined


class History(Outgoing):
    """``members``: with a group's pages, who is in it now, so a tab that was away catches up on
    membership as on messages (members.changed may have gone out while it was disconnected)."""
    type: Literal["history"]
    conversation: Id
    after_seq: Seq
    more: bool
    messages: list[HistoryMessage]
    members: list[MemberSummary] | None = None


class Pong(Outgoing):
    type: Literal["pong"]


class Error(Outgoing):
    """Answers a frame that was refused. ``for`` names the frame type; ``client_id`` and
    ``conversation`` are copied from it when it had them; ``field`` names the field at fault;
    ``request_id`` is the frame's id in the server's logs."""
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    type: Literal["error"]
    code: ErrorCode
    error: str
    for_: str | None = Field(default=None, alias="for")
    client_id: str | None = None
    conversation: int | None = None
    field: str | None = None
    # The frame's id in the server's logs (an operator finds what went wrong by it).
    request_id: str | None = None


class CallPerson(Outgoing):
    id: Id
    name: str
    initials: str
    avatar: str  # the avatar's URL, "" for initials
    status: Literal["invited", "joined", "left", "declined", "missed", "busy"]
    connected: bool  # False while their page reconnects (a reload): the tile says so


class CallInfo(Outgoing):
    id: Id
    version: int  # grows with every change: a tab ignores an older state that arrives late
    conversation: Id
    kind: CallKind
    status: Literal["ringing", "ongoing", "ended", "missed", "declined", "cancelled", "busy"]
    initiator: Id | None
    group: bool
    title: str  # a group's title; "" in a direct chat (the tab names the other person)
    started_at: str
    answered_at: str | None
    ended_at: str | None
    participants: list[CallPerson]


class CallState(Outgoing):
    """Answers call.start / call.accept / call.join: the call, and what the tab's peer connections need."""
    type: Literal["call.state"]
    call: CallInfo
    ice_servers: list[dict]
    max_participants: int
    ring_seconds: int  # after this long unanswered the caller's tab asks again (call.sync): missed


class CallActive(Outgoing):
    type: Literal["call.active"]
    calls: list[CallInfo]


REPLIES: dict[str, type[Outgoing]] = {
    "hello": Hello, "message.ack": MessageAck, "history": History, "pong": Pong, "error": Error,
    "call.state": CallState, "call.active": CallActive,
}


# --- server -> client: events -------------------------------------------------------------------

class MessageSummary(Outgoing):
    conversation: Id
    seq: Seq
    id: Id
    sender_name: str
    preview: str


class MessageCreated(MessageSummary):
    type: Literal["message.created"]
    client_id: str
    sender_id: Id | None
    created_at: str
    html: str


class MessageUpdated(MessageSummary):
    """An edit, a delete for everyone, or a change of reactions: the message's new HTML. The
    sender, for the sidebar's "You: " / "Name: " before the preview of a chat's last message."""
    type: Literal["message.updated"]
    sender_id: Id | None
    html: str


class MentionCreated(MessageSummary):
    type: Literal["mention.created"]


class ReceiptUpdated(Outgoing):
    type: Literal["receipt.updated"]
    conversation: Id
    user_id: Id
    read_seq: Seq
    delivered_seq: Seq


class TypingStarted(Outgoing):
    type: Literal["typing.started"]
    conversation: Id
    user_id: Id
    name: str


class ConversationChanged(Outgoing):
    """The reader's own state of a conversation (pin, mute, unread), to their other tabs."""
    type: Literal["conversation.changed"]
    conversation: Id
    pinned: bool
    muted: bool
    unread: int


class ConversationJoined(Outgoing):
    type: Literal["conversation.joined"]
    conversation: Id


class ConversationLeft(Outgoing):
    type: Literal["conversation.left"]
    conversation: Id


class GroupChanged(Outgoing):
    type: Literal["group.changed"]
    conversation: Id
    title: str


class MembersChanged(Outgoing):
    """A group's members changed (joined, added, removed, left): every member, to the members."""
    type: Literal["members.changed"]
    conversation: Id
    members: list[MemberSummary]


class InvitationChanged(Outgoing):
    type: Literal["invitation.changed"]
    id: Id
    status: str
    conversation: Id | None = None  # the group the invitation is to
    pending: int
    html: str | None = None  # with a new (pending) invitation: its entry for the invitations list
    title: str | None = None
    inviter_name: str | None = None


class PresenceChanged(Outgoing):
    type: Literal["presence.changed"]
    user_id: Id
    status: Literal["online", "away", "offline"]
    last_seen: str | None


class NotificationCreated(Outgoing):
    type: Literal["notification.created"]
    id: Id | None  # None for notifications made in bulk (the page lists them on its next load)
    kind: str
    text: str
    url: str
    unread: int
    conversation: Id | None = None
    html: str | None


class NotificationsRead(Outgoing):
    type: Literal["notifications.read"]
    unread: int


class FriendsChanged(Outgoing):
    type: Literal["friends.changed"]
    user_id: Id


class CallUpdated(Outgoing):
    """Any change of a call (rings, answered, declined, someone joined or left, ended), to every
    participant's tabs: a tab ringing stops when its person's status is no longer ``invited``."""
    type: Literal["call.updated"]
    call: CallInfo


class _Relayed(Outgoing):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    call: Id
    from_: Id = Field(alias="from")


class CallDescriptionRelayed(_Relayed):
    type: Literal["call.offer", "call.answer"]
    sdp: str


class CallIceRelayed(_Relayed):
    type: Literal["call.ice"]
    candidate: dict


class CallMediaRelayed(_Relayed):
    type: Literal["call.media"]
    audio: bool
    video: bool
    screen: bool


class AssistantStarted(Outgoing):
    """The assistant began an answer in a conversation: the tabs open a bubble for ``stream``."""
    type: Literal["assistant.started"]
    conversation: Id
    stream: str
    name: str
    asker_id: Id


class MessageDelta(Outgoing):
    """The new text of an answer being written (only what came since the last delta)."""
    type: Literal["message.delta"]
    conversation: Id
    stream: str
    text: str


class AssistantFinished(Outgoing):
    """The answer ended: ``done`` or ``stopped`` (stored as ``message_id``, which a
    ``message.created`` brought just before), or ``failed`` with the sentence to show and its code
    (``stream`` is "" when it never started: the rate limit, the budget)."""
    type: Literal["assistant.finished"]
    conversation: Id
    stream: str
    status: Literal["done", "stopped", "failed"]
    message_id: Id | None = None
    error: str | None = None
    code: ErrorCode | None = None


EVENTS: dict[str, type[Outgoing]] = {
    "assistant.started": AssistantStarted,
    "message.delta": MessageDelta,
    "assistant.finished": AssistantFinished,
    "call.updated": CallUpdated,
    "call.offer": CallDescriptionRelayed,
    "call.answer": CallDescriptionRelayed,
    "call.ice": CallIceRelayed,
    "call.media": CallMediaRelayed,
    "message.created": MessageCreated,
    "message.updated": MessageUpdated,
    "mention.created": MentionCreated,
    "receipt.updated": ReceiptUpdated,
    "typing.started": TypingStarted,
    "conversation.changed": ConversationChanged,
    "conversation.joined": ConversationJoined,
    "conversation.left": ConversationLeft,
    "group.changed": GroupChanged,
    "members.changed": MembersChanged,
    "invitation.changed": InvitationChanged,
    "presence.changed": PresenceChanged,
    "notification.created": NotificationCreated,
    "notifications.read": NotificationsRead,
    "friends.changed": FriendsChanged,
}

# --- server -> API clients: the JSON twins -------------------------------------------------------
#
# A socket signed in with a bearer token or a ticket (an app, a bot) gets each event's JSON twin
# instead of the browser's text: the same event with data in place of rendered HTML. Built once per
# event beside the browser's text (chatsite.realtime.event), never per recipient. Message events
# carry a ``message`` object (the REST API's shape too, messaging.serializers); every other event
# that carries HTML has it set to null. An event without a declared twin here is sent as it is.

class ApiPerson(Outgoing):
    id: Id
    username: str
    display_name: str
    avatar_url: str | None  # GET it with the same bearer token; null without an avatar


class ApiAttachment(Outgoing):
    id: Id
    kind: Literal["image", "audio", "video", "file"]
    name: str
    content_type: str
    size: int
    status: Literal["ready", "pending"]  # pending: an S3 direct upload not finished yet
    width: int | None
    height: int | None
    duration_ms: int | None
    url: str | None  # the authorised download (GET /api/v1/attachments/<id>, same bearer); null until sent
    thumbnail_url: str | None  # an image's small WebP, the same way


class ApiReaction(Outgoing):
    emoji: str
    count: int
    user_ids: list[int]


class ApiMessage(Outgoing):
    """A message as API clients see it, on the socket, in webhooks and in the REST API."""
    id: Id
    seq: Seq
    conversation: Id
    client_id: str  # the sender's own id for the send ("" for others' messages in a history)
    sender: ApiPerson | None  # null: a system line, or a deleted account
    kind: Literal["text", "image", "file", "audio", "video", "link", "system", "call"]
    body: str  # the text as written (markdown); "" once deleted
    html: str | None  # the body rendered and sanitised, as the site shows it
    via: str  # the incoming webhook that posted it ("" for a person's own message)
    reply_to: Id | None
    attachments: list[ApiAttachment]
    reactions: list[ApiReaction]
    created_at: str  # ISO 8601
    edited_at: str | None
    deleted: bool


class ApiMessageEvent(Outgoing):
    """``message.created`` (a new message) and ``message.updated`` (an edit, a delete for everyone,
    a change of reactions): the message as it is now."""
    type: Literal["message.created", "message.updated"]
    conversation: Id
    message: ApiMessage


class ApiHistory(Outgoing):
    """``history`` for an API socket: the messages as objects."""
    type: Literal["history"]
    conversation: Id
    after_seq: Seq
    more: bool
    messages: list[ApiMessage]
    members: list[MemberSummary] | None = None


API_EVENTS: dict[str, type[Outgoing]] = {"message.created": ApiMessageEvent, "message.updated": ApiMessageEvent}
API_REPLIES: dict[str, type[Outgoing]] = {"history": ApiHistory}

# The events an outgoing webhook receives (messaging/webhooks.py), as their JSON twins: what a bot
# acts on (messages, membership, invitations), not the chatter of typing, receipts and presence.
WEBHOOK_EVENTS = ("message.created", "message.updated", "members.changed", "group.changed",
                  "conversation.joined", "conversation.left", "invitation.changed")
# The headers of a webhook call: HMAC-SHA256 of "<timestamp>.<body>", its time, the event type, and
# the delivery's id (the same on every retry: a receiver drops repeats by it).
WEBHOOK_HEADERS = {"signature": "X-Chat-Signature", "timestamp": "X-Chat-Timestamp", "event": "X-Chat-Event",
                   "delivery": "X-Chat-Delivery"}

# The frames a read-only token's socket may send: reading and keeping the socket alive. Any other
# frame (a send, typing, receipts, calls) is answered with ``read_only_token``.
READ_ONLY_FRAMES = frozenset({"ping", "resume", "presence", "call.sync"})

# The subprotocol an API socket asks for (beside ``bearer.<token>``) and is accepted with.
SUBPROTOCOL = "chat.v1"
BEARER_PREFIX = "bearer."

# What the channel layer carries beside the JSON text: read by the transport, never sent on.
# ``api_text``: the event's JSON twin, for API sockets.
ROUTING_KEYS = {"type", "text", "api_text", "conversation_id", "user_id", "exclude_user_ids", "close_code"}

# Close codes of the socket (the browser's socket.js acts on each; an API client should too).
CLOSE_RECONNECT = 4000  # reconnect now: the handshake checks the session again
CLOSE_LAGGING = 4001  # this socket could not keep up and was dropped: reconnect at once and resume
CLOSE_SIGNED_OUT = 4401  # do not reconnect: sign in again
CLOSE_TOO_MANY = 4429  # too many open sockets for this person: reconnect later


def validation_error(error: ValidationError) -> tuple[str, str]:
    """(field, sentence) for the first problem pydantic found in a frame."""
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first.get("loc", ())) or None
    if first["type"] == "missing":
        return field, f"The frame needs a “{field}” field."
    return field, f"The “{field}” field is not valid: {first['msg']}."




def check_outgoing(payload: dict, *, api: bool = False) -> None:
    """Raise ValueError unless ``payload`` (a decoded event or reply) is declared here, exactly.
    ``api``: as an API socket receives it (the JSON twins)."""
    kind = payload.get("type")
    model = (API_EVENTS.get(kind) or API_REPLIES.get(kind)) if api else None
    model = model or EVENTS.get(kind) or REPLIES.get(kind)
    if model is None:
        raise ValueError(f"undeclared event type {payload.get('type')!r}")
    model.model_validate(payload)


def check_layer_event(event: dict) -> None:
    """Raise ValueError unless a channel-layer event has only routing keys and, when it carries
    text for the client, that text is a declared event."""
    unknown = set(event) - ROUTING_KEYS
    if unknown:
        raise ValueError(f"event {event.get('type')!r} has undeclared routing keys {sorted(unknown)}")
    if "text" in event:
        payload = json.loads(event["text"])
        if payload.get("type") != event.get("type"):
            raise ValueError(f"event {event.get('type')!r} carries the text of {payload.get('type')!r}")
        check_outgoing(payload)
        if "api_text" in event:
            twin = json.loads(event["api_text"])
            if twin.get("type") != event.get("type"):
                raise ValueError(f"event {event.get('type')!r} has the twin of {twin.get('type')!r}")
            check_outgoing(twin, api=True)
    elif not event.get("close_code"):
        raise ValueError(f"event {event.get('type')!r} has neither text for the client nor a close code")


# Set by the test settings (PROTOCOL_CHECKS): every event published and every reply sent is checked
# against this module; what fails is recorded here (and raised where it was made).
violations: list[str] = []


def enforce(kind: str, check, value) -> None:
    try:
        check(value)
    except (ValueError, ValidationError) as error:
        violations.append(f"{kind}: {error}")
        raise AssertionError(f"{kind} outside chatsite/protocol.py: {error}") from None


def json_schema() -> dict:
    """Every frame, reply and event as JSON Schema (for the API's documentation)."""
    return {
        "frames": {name: model.model_json_schema() for name, model in FRAMES.items()},
        "replies": {name: model.model_json_schema(by_alias=True) for name, model in REPLIES.items()},
        "events": {name: model.model_json_schema() for name, model in EVENTS.items()},
    }
