"""Real-time events of the messaging app.

Each event is built once per change, whatever the number of recipients: its HTML is rendered once
and its JSON text serialised once; the consumer forwards ``text`` to the socket untouched.
"Mine vs theirs" comes from data-sender-id and a per-user CSS rule in the page.
"""

from chatsite.realtime import event

from .html import render_message_item
from .models import Membership, Message
from .selectors import reaction_summary
from .serializers import message_json


def render_message(message: Message, *, starred: set[int] = frozenset(), new: bool = False) -> str:
    """``new``: just stored, so it has no reactions yet (saves the query)."""
    return render_message_item(message, reactions=() if new else reaction_summary(message),
                               starred=message.pk in starred)


def _short_name(sender) -> str:
    """The name the sidebar writes before a group's last message (messaging.html): the browser
    builds the same preview from ``sender_name``, so a live preview reads as a fetched one."""
    return (sender.first_name or sender.username) if sender else ""


def _summary(message: Message) -> dict:
    """What every event about a message says of it."""
    return {
        "conversation": message.conversation_id,
        "seq": message.seq,
        "id": message.pk,
        "sender_name": _short_name(message.sender),
        "preview": message.preview,
    }


def message_created(message: Message) -> dict:
    return event("message.created", {
        **_summary(message),
        "client_id": message.client_id,
        "sender_id": message.sender_id,
        "created_at": message.created_at.isoformat(),
        "html": render_message(message, new=True),
    }, api={"conversation": message.conversation_id, "message": message_json(message)},
        conversation_id=message.conversation_id)


def mention_created(message: Message) -> dict:
    """To each mentioned user, even when the chat is muted."""
    return event("mention.created", _summary(message))


def message_updated(message: Message) -> dict:
    reactions = reaction_summary(message)  # once, for the HTML and the twin
    return event("message.updated", {**_summary(message), "sender_id": message.sender_id,
                                     "html": render_message_item(message, reactions=reactions)},
                 api={"conversation": message.conversation_id,
                      "message": message_json(message, reactions=reactions)},
                 conversation_id=message.conversation_id)


def receipt_updated(membership: Membership, **routing) -> dict:
    return event("receipt.updated", {
        "conversation": membership.conversation_id,
        "user_id": membership.user_id,
        "read_seq": membership.last_read_seq,
        "delivered_seq": membership.last_delivered_seq,
    }, conversation_id=membership.conversation_id, **routing)


def typing(*, conversation_id: int, user, exclude_user_ids=()) -> dict:
    """To the other members: not the typist, nor the members across a block from them (accounts.policy)."""
    return event("typing.started", {"conversation": conversation_id, "user_id": user.pk, "name": user.first_name or user.username},
                  exclude_user_ids=(user.pk, *exclude_user_ids), conversation_id=conversation_id)


def conversation_changed(membership: Membership) -> dict:
    """Per-user state changed (pin, mute, read): the user's other tabs refresh that list entry."""
    return event("conversation.changed", {
        "conversation": membership.conversation_id,
        "pinned": membership.pinned,
        "muted": membership.muted,
        "unread": membership.unread_count,
    })


def conversation_joined(*, conversation_id: int, user_id: int) -> dict:
    """Tells the user's sockets to subscribe to a conversation they were just added to."""
    return event("conversation.joined", {"conversation": conversation_id}, conversation_id=conversation_id, user_id=user_id)


def conversation_left(*, conversation_id: int, user_id: int) -> dict:
    """Tells the user's sockets to unsubscribe at once (removal takes effect immediately)."""
    return event("conversation.left", {"conversation": conversation_id}, conversation_id=conversation_id, user_id=user_id)
