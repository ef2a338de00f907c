"""The API's conversations, messages and files. Thin: messaging's selectors read, its services
change (the same calls as the site's views and the socket's frames), chatsite.api maps their errors.

Outsiders get 404 ``not_member`` for a conversation and 404 ``not_found`` for a message or a file,
whether or not it exists: nothing says what lies behind an id."""

from datetime import datetime

from ninja import Field, Query, Router, Schema, Status

from accounts.api import PersonOut, person_out
from chatsite.apikit import ERRORS, responses
from chatsite.ids import MAX_ID
from chatsite.protocol import ApiAttachment, ApiMessage

from . import file_transport, selectors, services
from .html import conversation_title
from .models import Membership, Message
from .serializers import attachment_json, message_json

router = Router(tags=["conversations"])
message_router = Router(tags=["messages"])
file_router = Router(tags=["files"])

MAX_PAGE = 100
SEQ = {"ge": 0, "lt": MAX_ID}  # a message number: what the database can hold


# --- schemas ------------------------------------------------------------------------------------

# Messages and files have one shape everywhere an API client sees them (the socket's JSON twins,
# webhooks, these endpoints): chatsite.protocol declares it, messaging.serializers builds it.
AttachmentOut = ApiAttachment


class ReplyOut(Schema):
    id: int
    seq: int
    sender_id: int | None
    preview: str


class MessageOut(ApiMessage):
    reply: ReplyOut | None = None  # a preview of the message ``reply_to`` answers
    starred: bool  # by the caller


class MessagePage(Schema):
    messages: list[MessageOut]  # ascending seq
    more: bool  # more messages lie beyond the page, in the direction asked (older unless ``after``)


class LastMessageOut(Schema):
    id: int
    seq: int
    sender_id: int | None
    preview: str
    created_at: datetime


class ConversationOut(Schema):
    id: int
    kind: str  # direct | group | assistant
    title: str  # the group's title, or the other person's name in a direct chat
    description: str
    role: str  # the caller's: owner | admin | member
    pinned: bool
    muted: bool
    unread_count: int
    last_seq: int
    last_read_seq: int
    last_message: LastMessageOut | None
    counterpart: PersonOut | None  # the other person of a direct chat
    created_at: datetime
    last_activity_at: datetime


class MemberSummaryOut(Schema):
    id: int
    username: str
    name: str
    read_seq: int


class ConversationDetailOut(ConversationOut):
    members: list[MemberSummaryOut]
    others_read_seq: int  # the lowest read watermark of the other members ("seen")


class DirectIn(Schema):
    user_id: int = Field(..., description="The other person")


class FlagsIn(Schema):
    pinned: bool | None = None
    muted: bool | None = None


class SendIn(Schema):
    body: str = ""
    client_id: str = Field("", description="Any printable ASCII up to 64 characters, unique per message "
                                           "you send: a retry with the same id returns the stored message (200).")
    reply_to: int | None = Field(None, description="The id of the message this one answers")
    # The names of the socket's message.send frame, so a refusal's ``field`` is the same on both.
    attachments: list[int] = Field([], description="Ids of your uploads (POST /uploads) this message claims; "
                                                   "then ``body`` is an optional caption")


class EditIn(Schema):
    body: str


class ReactionIn(Schema):
    emoji: str = Field(..., description="One of " + " ".join(services.REACTION_CHOICES))


class ReadIn(Schema):
    seq: int = Field(..., description="The last message read", **SEQ)


class ReadOut(Schema):
    last_read_seq: int
    unread_count: int


class StarOut(Schema):
    starred: bool


# --- how models become JSON ---------------------------------------------------------------------

attachment_out = attachment_json


def message_out(message: Message, *, viewer_id: int, starred: set[int]) -> dict:
    reply = message.reply_to
    own = message.sender_id == viewer_id
    return {
        **message_json(message, reactions=selectors.reaction_summary(message), client_id=message.client_id if own else ""),
        "reply": {"id": reply.pk, "seq": reply.seq, "sender_id": reply.sender_id, "preview": reply.preview}
        if reply else None,
        "starred": message.pk in starred,
    }


def one_message_out(user, message: Message) -> dict:
    shown = selectors.get_message_for_display(message.pk)
    return message_out(shown, viewer_id=user.pk, starred=selectors.starred_ids(user, [shown]))


def conversation_out(entry: Membership) -> dict:
    conversation, last = entry.conversation, entry.conversation.last_message
    return {
        "id": conversation.pk, "kind": conversation.kind, "title": str(conversation_title(entry)),
        "description": conversation.description, "role": entry.role, "pinned": entry.pinned, "muted": entry.muted,
        "unread_count": entry.unread_count, "last_seq": conversation.last_seq, "last_read_seq": entry.last_read_seq,
        "last_message": {"id": last.pk, "seq": last.seq, "sender_id": last.sender_id, "preview": str(last.preview),
                         "created_at": last.created_at} if last else None,
        "counterpart": person_out(entry.counterpart) if getattr(entry, "counterpart", None) else None,
        "created_at": conversation.created_at, "last_activity_at": conversation.last_activity_at,
    }


def conversation_detail_out(user, conversation_id: int) -> dict:
    entry = selectors.get_conversation_entry(user, conversation_id)
    read_seq, _delivered = selectors.read_watermarks(entry.conversation_id, user.pk)
    members = selectors.list_member_summaries(entry.conversation_id)
    return {**conversation_out(entry), "others_read_seq": read_seq,
            "members": [{k: m[k] for k in ("id", "username", "name", "read_seq")} for m in members]}


# --- conversations ------------------------------------------------------------------------------

@router.get("/conversations", response=responses(list[ConversationOut]), summary="My conversations",
            description="Pinned first, then by last activity, with unread counts and the last message.")
def list_conversations(request, limit: int = Query(selectors.SIDEBAR_PAGE_SIZE, ge=1, le=MAX_PAGE),
                       offset: int = Query(0, ge=0, le=100_000)):
    return [conversation_out(entry) for entry in selectors.list_conversations(request.user, limit=limit, offset=offset)]


@router.post("/conversations/direct", response=responses(ConversationDetailOut), summary="Open a direct chat",
             description="The one direct chat with that person, created on first use (the same rules as the "
                         "site: blocks, \"friends only\").")
def open_direct(request, data: DirectIn):
    conversation = services.get_or_create_direct_conversation(user=request.user, other_id=data.user_id)
    return conversation_detail_out(request.user, conversation.pk)


@router.get("/conversations/{conversation_id}", response=responses(ConversationDetailOut),
            summary="One conversation, with its members")
def conversation_detail(request, conversation_id: int):
    return conversation_detail_out(request.user, conversation_id)


@router.patch("/conversations/{conversation_id}", response=responses(ConversationDetailOut),
              summary="Pin or mute a conversation (for me)")
def update_flags(request, conversation_id: int, flags: FlagsIn):
    services.set_conversation_flags(user=request.user, conversation_id=conversation_id, **flags.dict())
    return conversation_detail_out(request.user, conversation_id)


@router.post("/conversations/{conversation_id}/read", response=responses(ReadOut), summary="Mark read up to a message")
def mark_read(request, conversation_id: int, data: ReadIn):
    membership = services.mark_read(user=request.user, conversation_id=conversation_id, seq=data.seq)
    return {"last_read_seq": membership.last_read_seq, "unread_count": membership.unread_count}


# --- messages -----------------------------------------------------------------------------------

@router.get("/conversations/{conversation_id}/messages", response=responses(MessagePage), summary="A page of messages",
            description="The newest ``limit`` messages; with ``before``, those before that seq (scrolling back); "
                        "with ``after``, those after it (catching up after a reconnect). Ascending seq.")
def list_messages(request, conversation_id: int, before: int | None = Query(None, **SEQ),
                  after: int | None = Query(None, **SEQ), limit: int = Query(selectors.PAGE_SIZE, ge=1, le=MAX_PAGE)):
    membership = selectors.access_membership(request.user, conversation_id)
    messages, more = selectors.list_messages(membership.conversation_id, before_seq=before, after_seq=after, limit=limit)
    starred = selectors.starred_ids(request.user, messages)
    return {"messages": [message_out(m, viewer_id=request.user.pk, starred=starred) for m in messages], "more": more}


@router.post("/conversations/{conversation_id}/messages", response={201: MessageOut, 200: MessageOut, **ERRORS},
             summary="Send a message",
             description="201 with the new message; 200 with the stored one when a message with this "
                         "``client_id`` was sent already (a retry stores nothing twice).")
def send_message(request, conversation_id: int, data: SendIn):
    result = services.send_message(user=request.user, conversation_id=conversation_id, body=data.body,
                                   client_id=data.client_id, reply_to_id=data.reply_to,
                                   attachment_ids=data.attachments)
    return Status(201 if result.created else 200, one_message_out(request.user, result.message))


@message_router.get("/messages/{message_id}", response=responses(MessageOut), summary="One message")
def message_detail(request, message_id: int):
    return one_message_out(request.user, selectors.access_message(request.user, message_id))


@message_router.patch("/messages/{message_id}", response=responses(MessageOut), summary="Edit my message")
def edit_message(request, message_id: int, data: EditIn):
    return one_message_out(request.user, services.edit_message(user=request.user, message_id=message_id, body=data.body))


@message_router.delete("/messages/{message_id}", response=responses(MessageOut), summary="Delete my message for everyone",
                       description="The message keeps its seq; its text, files, reactions and stars are removed.")
def delete_message(request, message_id: int):
    return one_message_out(request.user, services.delete_message(user=request.user, message_id=message_id))


@message_router.put("/messages/{message_id}/reactions", response=responses(MessageOut), summary="Add my reaction")
def add_reaction(request, message_id: int, data: ReactionIn):
    message = services.set_reaction(user=request.user, message_id=message_id, emoji=data.emoji, on=True)
    return one_message_out(request.user, message)


@message_router.delete("/messages/{message_id}/reactions", response=responses(MessageOut), summary="Remove my reaction")
def remove_reaction(request, message_id: int, emoji: str = Query(..., max_length=16)):
    message = services.set_reaction(user=request.user, message_id=message_id, emoji=emoji, on=False)
    return one_message_out(request.user, message)


@message_router.put("/messages/{message_id}/star", response=responses(StarOut), summary="Star a message (for me)")
def star(request, message_id: int):
    return {"starred": services.set_star(user=request.user, message_id=message_id, on=True)}


@message_router.delete("/messages/{message_id}/star", response=responses(StarOut), summary="Unstar a message")
def unstar(request, message_id: int):
    return {"starred": services.set_star(user=request.user, message_id=message_id, on=False)}


@message_router.get("/starred", response=responses(list[MessageOut]), summary="My starred messages, newest first")
def starred(request):
    messages = selectors.list_starred(request.user)
    return [message_out(m, viewer_id=request.user.pk, starred={m.pk for m in messages}) for m in messages]


# --- files --------------------------------------------------------------------------------------

UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"},
                   "duration_ms": {"type": "integer", "minimum": 1, "description": "A voice note's length"}},
}}}}}


@file_router.post("/uploads", response={201: AttachmentOut, 413: ERRORS[400], **ERRORS}, openapi_extra=UPLOAD_BODY,
                  summary="Upload a file",
                  description="Multipart ``file``. The same checks as the site (size, quota, type sniffed from the "
                              "bytes, images re-encoded without metadata). Send the id in ``attachments`` "
                              "to claim it; uploads no message claims are removed after a while.")
def upload(request):
    limit = file_transport.install_size_limit(request)
    return Status(201, attachment_out(file_transport.create_upload_from_request(request, limit)))


DOWNLOAD = {"responses": {200: {"description": "The file's bytes (filesystem storage)",
                                "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                    "format": "binary"}}}},
                          302: {"description": "S3: a redirect to a short-lived presigned URL"}}}


@file_router.get("/attachments/{attachment_id}", response=ERRORS, openapi_extra=DOWNLOAD, url_name="attachment_download",
                 summary="Download a file of a message",
                 description="For members of its conversation only. ``?thumbnail=1`` for an image's thumbnail.")
def download(request, attachment_id: int, thumbnail: bool = False):
    item = selectors.access_attachment(request.user, attachment_id)
    return file_transport.serve_attachment(item, thumbnail=thumbnail)
