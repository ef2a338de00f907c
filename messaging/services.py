"""Every state change of conversations and messages. HTTP views and the WebSocket consumer both call
these functions: one code path, one set of checks, events published after commit."""

import re
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import policy, presence_reads, push
from accounts import services as account_services
from accounts.models import User
from chatsite import ratelimit
from chatsite.errors import ErrorCode, InvalidInput, NotAllowed, NotFound, ServiceError
from chatsite.ids import parse_id, require_id
from chatsite.realtime import after_commit_and_publish, conversation_group, publish_on_commit, user_group
from chatsite.text import clean_text

from . import assistant, events, store, uploads
from .models import Attachment, Conversation, Membership, Mention, Message, Reaction, Star
from .rendering import find_mentions, render_message_html
from .selectors import access_membership, access_message, list_conversation_ids

# The reactions on offer, with the names screen readers announce.
REACTION_CHOICES = {"👍": gettext_lazy("thumbs up"), "❤️": gettext_lazy("heart"), "😂": gettext_lazy("laughter"),
                    "😮": gettext_lazy("surprise"), "😢": gettext_lazy("sadness"), "🙏": gettext_lazy("thanks"),
                    "🎉": gettext_lazy("celebration"), "🔥": gettext_lazy("fire")}


@dataclass
class SendResult:
    message: Message
    created: bool  # False when a retry with the same client_id found the stored message


def _clean_body(body, *, required: bool = True) -> str:
    return clean_text(body, max_length=settings.MESSAGE_MAX_LENGTH, what=_("A message"), required=required,
                      multiline=True, field="body")


# Printable ASCII without spaces: a UUID from the browser, any token an API client makes up.
_CLIENT_ID = re.compile(r"[!-~]{1,64}")


def _clean_client_id(client_id) -> str:
    client_id = client_id or ""
    if not isinstance(client_id, str) or (client_id and not _CLIENT_ID.fullmatch(client_id)):
        raise InvalidInput(_("The message id sent by the browser is not valid."), field="client_id")
    return client_id


@transaction.atomic
def get_or_create_direct_conversation(*, user: User, other_id: int) -> Conversation:
    """The one direct chat of a pair, created on first use."""
    try:
        other = User.objects.get(pk=parse_id(other_id), is_active=True)
    except (User.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("That person does not exist.")) from None
    if other.pk == user.pk:
        raise InvalidInput(_("You cannot start a chat with yourself."))
    key = Conversation.make_direct_key(user.pk, other.pk)
    conversation = Conversation.objects.filter(direct_key=key).first()
    policy.check_direct_chat(user, other, exists=conversation is not None)
    if conversation:
        return conversation
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(kind=Conversation.Kind.DIRECT, direct_key=key, created_by=user)
    except IntegrityError:  # created by a concurrent request a moment ago
        return Conversation.objects.get(direct_key=key)
    Membership.objects.bulk_create([
        Membership(conversation=conversation, user=user, role=Membership.Role.MEMBER),
        Membership(conversation=conversation, user=other, role=Membership.Role.MEMBER),
    ])
    for member_id in (user.pk, other.pk):
        publish_on_commit([user_group(member_id)], events.conversation_joined(conversation_id=conversation.pk, user_id=member_id))
    return conversation


def _check_contact(user: User, conversation: Conversation) -> None:
    """In a direct chat, a change the other person receives (an edit, a reaction) is contact:
    refused across a block (accounts.policy). A group stays usable."""
    counterpart_id = conversation.counterpart_id(user.pk)
    if counterpart_id is not None:
        policy.check_direct_message(user, counterpart_id)


def _append_message(*, conversation: Conversation, last_seq: int, sender: User | None, kind: str, body: str,
                    body_html: str, client_id: str = "", reply_to: Message | None = None,
                    mention_ids: str = "", attachments: list[Attachment] = (), via: str = "") -> Message:
    """Store a message under the next seq. Must run inside the caller's transaction, with the
    conversation's seq locked (store.lock_membership or store.lock_last_seq), so that seqs are
    gapless and never handed out twice. ``attachments``: uploads it claims (uploads.claim_uploads,
    locked by the caller)."""
    message = store.insert_message(conversation=conversation, seq=last_seq + 1, sender=sender, kind=kind, body=body,
                                   body_html=body_html, client_id=client_id, reply_to=reply_to,
                                   mention_ids=mention_ids, via=via)
    if attachments:
        Attachment.objects.filter(pk__in=[a.pk for a in attachments]).update(message=message)
        for attachment in attachments:
            attachment.message = message
        # As prefetch_related leaves it: the event renders them without a query.
        claimed = Attachment.objects.filter(message=message)
        claimed._result_cache, claimed._prefetch_done = list(attachments), True
        message._prefetched_objects_cache = {"attachments": claimed}
    publish_on_commit([conversation_group(conversation.pk)], events.message_created(message))
    return message


def _stored_retry(user: User, client_id: str) -> Message | None:
    # (The exclude repeats the partial unique index's condition so SQLite uses the index.)
    return (Message.objects.filter(sender=user, client_id=client_id).exclude(client_id="")
            .select_related("sender").first()) if client_id else None


def send_message(*, user: User, conversation_id: int, body: str, client_id: str = "",
                 reply_to_id: int | None = None, attachment_ids=(), via: str = "") -> SendResult:
    """Store and announce a message. A retry (same ``client_id``) stores nothing and returns the
    stored message: the unique (sender, client_id) index refuses the copy, so no lookup is needed
    before the insert on the usual path.

    ``attachment_ids``: the sender's uploads the message claims (then ``body`` is an optional
    caption). A retry finds them claimed by the stored message and is answered with it: files are
    never stored twice."""
    client_id = _clean_client_id(client_id)
    try:
        body = _clean_body(body, required=not attachment_ids)
        ratelimit.hit("send", user.pk, settings.MESSAGE_RATE_LIMIT,
                      _("You are sending messages too fast. Please wait a moment."))
        with transaction.atomic():
            message, mentioned = _store_sent_message(user, parse_id(conversation_id), body, client_id, reply_to_id,
                                                     attachment_ids, via)
    except (IntegrityError, ServiceError):
        # A retry of a stored message (the unique index refused the copy) is answered with it,
        # whatever changed since (a rate limit, a removal from the group), as if the first answer
        # had arrived. Anything else is raised as it is.
        existing = _stored_retry(user, client_id)
        if existing is None:
            raise
        return SendResult(existing, created=False)
    return SendResult(message, created=True)


def _store_sent_message(user: User, conversation_id: int | None, body: str, client_id: str,
                        reply_to_id, attachment_ids=(), via: str = "") -> tuple[Message, "Mentions"]:
    found = conversation_id and store.lock_membership(conversation_id=conversation_id, user_id=user.pk)
    if not found:
        raise NotFound(_("That conversation does not exist or you are not a member of it."), code=ErrorCode.NOT_MEMBER)
    membership, blocked = found
    conversation = membership.conversation
    if conversation.is_group and not membership.may(conversation.post_policy):
        raise NotAllowed(_("Only admins can post in this group."))
    if blocked:  # the flag of policy.block_exists_sql, asked in the same query; the policy says what it means
        policy.check_direct_message(user, conversation.counterpart_id(user.pk), blocked=True)
    mentioned = _resolve_mentions(membership, body)
    reply_to = None
    if reply_to_id:
        reply_to = Message.objects.filter(pk=require_id(reply_to_id), conversation_id=conversation.pk).select_related("sender").first()
        if reply_to is None:
            raise InvalidInput(_("The message you are replying to is not in this conversation."))
    attachments = uploads.claim_uploads(user=user, attachment_ids=attachment_ids) if attachment_ids else []
    message = _append_message(
        conversation=conversation, last_seq=conversation.last_seq, sender=user,
        kind=uploads.message_kind(attachments) if attachments else Message.Kind.TEXT, body=body,
        body_html=render_message_html(body, mentioned=mentioned.names) if body else "", client_id=client_id,
        reply_to=reply_to, mention_ids=mentioned.ids_attribute, attachments=attachments, via=via,
    )
    _store_mentions(message, mentioned)
    # An assistant chat, or "@assistant": the answer streams on the event loop after the commit.
    assistant.consider_message(message=message, conversation=conversation, user=user)
    # Notifications are written after the commit, outside the seq lock, and (on a socket) after
    # the message went out: neither the lock nor the delivery waits for them.
    after_commit_and_publish(lambda: _notify(message, mentioned))
    # Your own message is read by you: the watermark moves with it, so it never counts as unread.
    store.advance_own_watermark(membership_id=membership.pk, seq=message.seq)
    return message, mentioned


@dataclass
class Mentions:
    names: set[str]  # lower-cased usernames (and "all") to highlight in the text
    user_ids: set[int]  # who is mentioned, the sender excluded
    everyone: bool

    @property
    def ids_attribute(self) -> str:
        # "all" already highlights the message for everybody: no need to list a whole group's ids.
        return "all" if self.everyone else " ".join(str(i) for i in sorted(self.user_ids))


def _resolve_mentions(membership: Membership, body: str) -> Mentions:
    """@username of a member, and @all in groups (by default admins only)."""
    names = find_mentions(body)
    if not names or not membership.conversation.is_group:
        return Mentions(set(), set(), False)
    everyone = "all" in names
    if everyone and not membership.may(membership.conversation.mention_all_policy):
        raise NotAllowed(_("Only admins can mention @all in this group."))
    others = Membership.objects.filter(conversation_id=membership.conversation_id).exclude(user_id=membership.user_id)
    if not everyone:
        match = Q()
        for name in sorted(names)[:50]:  # usernames are unique without regard to case (allauth)
            match |= Q(user__username__iexact=name)
        others = others.filter(match)
    members = dict(others.values_list("user_id", "user__username"))
    highlighted = ({name.lower() for name in members.values()} & names) | ({"all"} if everyone else set())
    return Mentions(highlighted, set(members), everyone)


def _store_mentions(message: Message, mentions: Mentions) -> None:
    if mentions.user_ids:
        Mention.objects.bulk_create([Mention(message=message, user_id=uid) for uid in mentions.user_ids])


def _notify(message: Message, mentions: Mentions) -> None:
    """Mentioned people are told even when they muted the group (not by someone they blocked);
    members with no tab open get a "new messages" notification unless they muted the chat."""
    mentioned = mentions.user_ids and mentions.user_ids - policy.blocker_ids(message.sender_id, among=mentions.user_ids)
    if mentioned:
        publish_on_commit([user_group(uid) for uid in mentioned], events.mention_created(message))
        where = message.conversation.title or _("a group")
        account_services.notify_many(
            recipient_ids=mentioned, kind="mention", actor=message.sender, conversation_id=message.conversation_id,
            text=_("%(name)s mentioned you in %(where)s: %(preview)s")
            % {"name": message.sender.display_name, "where": where, "preview": message.preview},
            url=f"/c/{message.conversation_id}/#msg-{message.conversation_id}-{message.seq}")
    members = store.unmuted_members(conversation_id=message.conversation_id, exclude_user_id=message.sender_id)
    candidates = list(members)
    online = presence_reads.is_online_map(candidates)
    away = [uid for uid in candidates if not online[uid] and uid not in mentions.user_ids]
    if away:  # (an empty call would still open a write transaction)
        account_services.notify_new_messages(recipient_ids=away, message=message)
    _push(message, mentioned or set(), members)


def _push(message: Message, mentioned: set[int], members: dict[int, bool]) -> None:
    """Web Push to the devices with no visible tab (accounts.push decides per device): the mentioned
    even in a muted chat, the other members unless they muted it. ``members``: the unmuted ones,
    with whether they have a subscription; nobody has one and nobody muted was mentioned: no query."""
    sender = message.sender.display_name if message.sender else _("Someone")
    group = message.conversation.is_group
    base = {"body": message.preview, "url": f"/c/{message.conversation_id}/", "conversation_id": message.conversation_id,
            "tag": push.chat_tag(message.conversation_id)}
    title = _("%(name)s in %(where)s") % {"name": sender, "where": message.conversation.title} if group else sender
    audiences = []
    if mentioned:
        where = message.conversation.title or _("a group")
        audiences.append((mentioned, {**base, "kind": "mention",
                                      "title": _("%(name)s mentioned you in %(where)s") % {"name": sender, "where": where}}))
    audiences.append((set(members), {**base, "kind": "message", "title": title}))
    push.queue_push(audiences=audiences, key=f"message:{message.pk}", actor_id=message.sender_id,
                    checked=set(members), subscribed={uid for uid, has in members.items() if has})


def post_system_message(*, conversation_id: int, body: str) -> Message:
    """A line such as "Ana added Bo", stored in the conversation's sequence like any message.

    ``body`` is stored and shown to every member as it is: callers translate it when they write it,
    in the server's language (settings.LANGUAGE_CODE), as Django does for any text it stores. So are
    notification texts (accounts.services.notify)."""
    return post_message(conversation_id=conversation_id, sender=None, kind=Message.Kind.SYSTEM, body=body)


def post_message(*, conversation_id: int, sender: User | None, kind: str, body: str, body_html: str = "") -> Message:
    """A message the server itself writes (a system line, a call record, a file): no checks here,
    the calling service has made them."""
    with transaction.atomic():
        last_seq = store.lock_last_seq(conversation_id)
        conversation = Conversation.objects.only("id", "kind", "title").get(pk=conversation_id)
        return _append_message(conversation=conversation, last_seq=last_seq, sender=sender, kind=kind,
                               body=body, body_html=body_html)


def _own_live_message(user: User, message_id) -> Message:
    message = access_message(user, message_id)
    if message.sender_id != user.pk:
        raise NotAllowed(_("You can only change your own messages."))
    if message.is_deleted:
        raise InvalidInput(_("That message was deleted."))
    return message


@transaction.atomic
def edit_message(*, user: User, message_id: int, body: str) -> Message:
    message = _own_live_message(user, message_id)
    if message.kind != Message.Kind.TEXT:
        raise InvalidInput(_("Only text messages can be edited."))
    body = _clean_body(body)
    if body == message.body:
        return message
    _check_contact(user, message.conversation)
    ratelimit.hit("send", user.pk, settings.MESSAGE_RATE_LIMIT, _("You are editing too fast. Please wait a moment."))
    mentioned = _resolve_mentions(access_membership(user, message.conversation_id), body)
    message.body, message.edited_at = body, timezone.now()
    message.body_html = render_message_html(body, mentioned=mentioned.names)
    message.mention_ids = mentioned.ids_attribute
    message.save(update_fields=["body", "body_html", "edited_at", "mention_ids"])
    publish_on_commit([conversation_group(message.conversation_id)], events.message_updated(message))
    return message


@transaction.atomic
def delete_message(*, user: User, message_id: int) -> Message:
    """Delete for everyone: the row stays (seq has no gap) with its content removed."""
    return erase_message(_own_live_message(user, message_id))


def erase_message(message: Message) -> Message:
    """Delete a message for everyone (its sender, or a moderator acting on a report)."""
    message.body, message.body_html, message.deleted_at = "", "", timezone.now()
    message.save(update_fields=["body", "body_html", "deleted_at"])
    _delete_attachments(message)
    Reaction.objects.filter(message=message).delete()
    Star.objects.filter(message=message).delete()
    publish_on_commit([conversation_group(message.conversation_id)], events.message_updated(message))
    return message


def _delete_attachments(message: Message) -> None:
    """Remove the files too: "delete for everyone" must not leave the bytes in storage (the rows'
    post_delete handler in messaging.uploads deletes them after the commit)."""
    for attachment in Attachment.objects.filter(message=message):
        attachment.delete()


@transaction.atomic
def toggle_reaction(*, user: User, message_id: int, emoji: str) -> Message:
    return set_reaction(user=user, message_id=message_id, emoji=emoji, on=None)


@transaction.atomic
def set_reaction(*, user: User, message_id: int, emoji: str, on: bool | None) -> Message:
    """Add (``on``), remove (not ``on``) or toggle (None) the user's ``emoji`` on a message. Adding
    or removing twice leaves the same state: an API client's retry changes nothing."""
    if emoji not in REACTION_CHOICES:
        raise InvalidInput(_("That reaction is not available."), field="emoji")
    message = access_message(user, message_id)
    if message.is_deleted or message.kind == Message.Kind.SYSTEM:
        raise InvalidInput(_("You cannot react to that message."))
    _check_contact(user, message.conversation)
    ratelimit.hit("send", user.pk, settings.MESSAGE_RATE_LIMIT, _("You are reacting too fast. Please wait a moment."))
    # A toggle is a delete that found nothing, then an add: one query when it removes.
    removed = bool(on is not True and Reaction.objects.filter(message=message, user=user, emoji=emoji).delete()[0])
    if on or (on is None and not removed):
        Reaction.objects.get_or_create(message=message, user=user, emoji=emoji)  # a double click stores one
    publish_on_commit([conversation_group(message.conversation_id)], events.message_updated(message))
    return message


@transaction.atomic
def toggle_star(*, user: User, message_id: int) -> bool:
    """Star or unstar; returns whether the message is now starred. Stars are private to the user."""
    return set_star(user=user, message_id=message_id, on=None)


@transaction.atomic
def set_star(*, user: User, message_id: int, on: bool | None) -> bool:
    """Star (``on``), unstar (not ``on``) or toggle (None); returns whether the message is now starred."""
    message = access_message(user, message_id)
    removed = bool(on is not True and Star.objects.filter(user=user, message=message).delete()[0])
    if on is False or (on is None and removed):
        return False
    if message.is_deleted:
        raise InvalidInput(_("You cannot star a deleted message."))
    Star.objects.get_or_create(user=user, message=message)
    return True


def _advance_watermarks(*, user: User, conversation_id, seq, read: bool) -> Membership:
    membership = access_membership(user, conversation_id)
    try:
        seq = min(int(seq), membership.conversation.last_seq)
    except (TypeError, ValueError, OverflowError):  # (int() of an infinity overflows)
        raise InvalidInput(_("A read receipt needs a message number.")) from None
    changes = {}
    if read and seq > membership.last_read_seq:
        changes["last_read_seq"] = seq
    if seq > membership.last_delivered_seq:
        changes["last_delivered_seq"] = seq
    if not changes:
        return membership
    audience = policy.receipt_audience(user.pk, direct_with=membership.conversation.counterpart_id(user.pk))
    with transaction.atomic():
        # Watermarks only move forward, even when two tabs report out of order.
        for field, value in changes.items():
            Membership.objects.filter(pk=membership.pk, **{f"{field}__lt": value}).update(**{field: value})
        membership.refresh_from_db(fields=["last_read_seq", "last_delivered_seq"])
        if audience.publish:
            publish_on_commit([conversation_group(membership.conversation_id)],
                              events.receipt_updated(membership, **audience.routing()))
        if "last_read_seq" in changes:
            publish_on_commit([user_group(user.pk)], events.conversation_changed(membership))
    return membership


def mark_read(*, user: User, conversation_id: int, seq: int) -> Membership:
    membership = _advance_watermarks(user=user, conversation_id=conversation_id, seq=seq, read=True)
    if membership.last_read_seq >= membership.conversation.last_seq:
        account_services.mark_conversation_notifications_read(user_id=user.pk, conversation_id=membership.conversation_id)
    return membership


def mark_delivered(*, user: User, conversation_id: int, seq: int) -> Membership:
    return _advance_watermarks(user=user, conversation_id=conversation_id, seq=seq, read=False)


@transaction.atomic
def set_conversation_flags(*, user: User, conversation_id: int, pinned: bool | None = None,
                           muted: bool | None = None) -> Membership:
    membership = access_membership(user, conversation_id)
    if pinned is not None:
        membership.pinned = bool(pinned)
    if muted is not None:
        membership.muted = bool(muted)
    membership.save(update_fields=["pinned", "muted"])
    publish_on_commit([user_group(user.pk)], events.conversation_changed(membership))
    return membership


def open_socket(*, user: User) -> list[int]:
    """A tab's socket opened: the conversations it follows, and the user counts as online."""
    conversation_ids = list_conversation_ids(user)
    account_services.presence.socket_opened(user=user, conversation_ids=conversation_ids)
    return conversation_ids


def close_socket(*, user: User, was_active: bool, conversation_ids: list[int]) -> None:
    """A tab's socket closed (for whatever reason): the user may now be away or offline."""
    account_services.presence.socket_closed(user=user, was_active=was_active, conversation_ids=conversation_ids)


def notify_typing(*, user: User, conversation_id: int) -> None:
    """Tell the other members that ``user`` is typing. Nothing is stored."""
    ratelimit.hit("typing", user.pk, "20/10s")
    membership = access_membership(user, conversation_id)
    audience = policy.typing_audience(user.pk, direct_with=membership.conversation.counterpart_id(user.pk))
    if audience.publish:
        publish_on_commit([conversation_group(membership.conversation_id)],
                          events.typing(conversation_id=membership.conversation_id, user=user, **audience.routing()))
