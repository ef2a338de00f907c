"""Messages as JSON data, in the one shape API clients see everywhere: the socket's JSON twins
(``message.created``, ``message.updated``, ``history``), outgoing webhooks and the REST API.
The shape is declared once, in chatsite.protocol (``ApiMessage``, ``ApiAttachment``,
``ApiPerson``, ``ApiReaction``); a REST endpoint may use those models as its response schema.

Built from what the caller already loaded: a new message's sender and claimed files are on the
instance (messaging.services), a page's reactions and files are prefetched
(selectors.with_reactions_and_files). A text message has no files, so asking for them costs no query.
"""

from django.urls import reverse

from .models import Message


def person_json(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "display_name": user.display_name,
            "avatar_url": reverse("avatar", args=[user.pk]) if user.avatar else None}


def attachment_json(attachment) -> dict:
    """An upload (``url`` None until a message claims it) or a message's file. ``url`` is the API's
    authorised download, fetched with the same bearer token."""
    url = reverse("api-v1:attachment_download", args=[attachment.pk]) if attachment.message_id else None
    return {
        "id": attachment.pk, "kind": attachment.kind, "name": attachment.original_name,
        "content_type": attachment.content_type, "size": attachment.size, "status": attachment.status,
        "width": attachment.width, "height": attachment.height, "duration_ms": attachment.duration_ms,
        "url": url, "thumbnail_url": f"{url}?thumbnail=1" if url and attachment.thumbnail else None,
    }


def reactions_json(summary: list[dict]) -> list[dict]:
    """selectors.reaction_summary(message) as data."""
    return [{"emoji": r["emoji"], "count": r["count"], "user_ids": [int(i) for i in r["user_ids"].split()]}
            for r in summary]


def _attachments(message: Message) -> list:
    if message.kind in (Message.Kind.TEXT, Message.Kind.LINK, Message.Kind.SYSTEM, Message.Kind.CALL) \
            or message.is_deleted:
        return []
    return list(message.attachments.all())


def message_json(message: Message, *, reactions: list[dict] = (), client_id: str | None = None) -> dict:
    """``reactions``: selectors.reaction_summary(message) (a new message has none). ``client_id``:
    what to show of the sender's own id (a history shows it to the sender only)."""
    deleted = message.is_deleted
    return {
        "id": message.pk,
        "seq": message.seq,
        "conversation": message.conversation_id,
        "client_id": message.client_id if client_id is None else client_id,
        "sender": person_json(message.sender) if message.sender_id else None,
        "kind": message.kind,
        "body": "" if deleted else message.body,
        "html": None if deleted or message.kind == Message.Kind.SYSTEM else (message.body_html or None),
        "via": message.via,
        "reply_to": message.reply_to_id,
        "attachments": [attachment_json(a) for a in _attachments(message)],
        "reactions": reactions_json(reactions),
        "created_at": message.created_at.isoformat(),
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "deleted": deleted,
    }
