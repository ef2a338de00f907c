"""Notifications: stored rows plus a live event to the recipient's tabs (the bell count)."""

from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from chatsite.ids import parse_id
from chatsite.realtime import publish_on_commit, user_group

from .. import events, push, selectors
from ..models import Notification, User


@transaction.atomic
def notify(*, recipient_id: int, kind: str, text: str, url: str = "", actor: User | None = None,
           conversation_id: int | None = None) -> Notification:
    """Store a notification and alert the recipient's tabs. ``text`` is stored as given, already
    translated (see messaging.services.post_system_message).

    One unread notification per (actor, recipient, kind): a repeat while it is unread (a friend
    request sent, cancelled and sent again; a second invitation) updates that row with the latest
    text and alerts nobody again, so a loop of requests cannot flood someone's bell."""
    if actor is not None:
        pending = (Notification.objects.select_for_update()
                   .filter(recipient_id=recipient_id, kind=kind, actor=actor, read_at__isnull=True)
                   .order_by("-updated_at").first())
        if pending is not None:
            pending.text, pending.url, pending.conversation_id = text[:300], url, conversation_id
            pending.count = F("count") + 1
            pending.save(update_fields=["text", "url", "conversation", "count", "updated_at"])
            pending.refresh_from_db(fields=["count"])
            return pending
    notification = Notification.objects.create(recipient_id=recipient_id, kind=kind, text=text[:300], url=url,
                                               actor=actor, conversation_id=conversation_id)
    _announce(notification)
    if kind in _PUSHED_KINDS:
        transaction.on_commit(lambda: _push(notification))
    return notification


# What a push tells a device about besides messages and mentions (messaging pushes those itself).
_PUSHED_KINDS = (Notification.Kind.FRIEND_REQUEST, Notification.Kind.GROUP_INVITATION, Notification.Kind.MISSED_CALL)


def _push(notification: Notification) -> None:
    actor = notification.actor
    # A missed call groups with its chat (reading the chat closes it); the others stand alone.
    tag = (push.chat_tag(notification.conversation_id) if notification.kind == Notification.Kind.MISSED_CALL
           and notification.conversation_id else f"{notification.kind}-{notification.pk}")
    push.queue_push(audiences=[([notification.recipient_id], {
        "kind": notification.kind, "title": actor.display_name if actor else _("Notification"),
        "body": notification.text, "url": notification.url or "/notifications/", "tag": tag,
        "conversation_id": notification.conversation_id})],
        key=f"notification:{notification.pk}", actor_id=actor.pk if actor else None)


def _announce(notification: Notification) -> None:
    unread = selectors.count_unread_notifications(notification.recipient_id)
    publish_on_commit([user_group(notification.recipient_id)], events.notification_created(notification, unread))


@transaction.atomic
def notify_many(*, recipient_ids, kind: str, text: str, url: str = "", actor: User | None = None,
                conversation_id: int | None = None) -> None:
    """The same notification for many people (an @all): one insert, one count query."""
    recipient_ids = list(recipient_ids)
    Notification.objects.bulk_create([
        Notification(recipient_id=rid, kind=kind, text=text[:300], url=url, actor=actor, conversation_id=conversation_id)
        for rid in recipient_ids
    ])
    unread = dict(Notification.objects.filter(recipient_id__in=recipient_ids, read_at__isnull=True)
                  .values("recipient_id").annotate(n=Count("id")).values_list("recipient_id", "n"))
    for rid in recipient_ids:
        publish_on_commit([user_group(rid)], events.notification_count(unread.get(rid, 0), text=text, url=url))


@transaction.atomic
def notify_new_messages(*, recipient_ids, message) -> None:
    """"New messages" for people with no tab open: one unread row per person and chat, counting up.

    A fixed number of queries whatever the number of recipients. No live event: nobody is there."""
    recipient_ids = set(recipient_ids)
    if not recipient_ids:
        return
    direct = message.conversation.kind == "direct"
    # The row says "message" when made and "messages" once it counts more than one.
    if direct:
        sender = message.sender.display_name if message.sender else _("someone")
        first, more = (_("New message from %(name)s") % {"name": sender},
                       _("New messages from %(name)s") % {"name": sender})
    else:
        first, more = (_("New message in %(title)s") % {"title": message.conversation.title},
                       _("New messages in %(title)s") % {"title": message.conversation.title})
    pending = Notification.objects.filter(recipient_id__in=recipient_ids, kind=Notification.Kind.MESSAGE,
                                          conversation_id=message.conversation_id, read_at__isnull=True)
    already = set(pending.values_list("recipient_id", flat=True))
    pending.update(count=F("count") + 1, text=more, actor=message.sender, updated_at=timezone.now())
    Notification.objects.bulk_create([
        Notification(recipient_id=rid, kind=Notification.Kind.MESSAGE, text=first, actor=message.sender,
                     url=f"/c/{message.conversation_id}/", conversation_id=message.conversation_id)
        for rid in recipient_ids - already
    ])


@transaction.atomic
def mark_notification_read(*, user: User, notification_id) -> None:
    Notification.objects.filter(pk=parse_id(notification_id), recipient=user, read_at__isnull=True).update(read_at=timezone.now())
    publish_on_commit([user_group(user.pk)], events.notifications_read(selectors.count_unread_notifications(user.pk)))


@transaction.atomic
def mark_all_notifications_read(*, user: User) -> None:
    Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
    publish_on_commit([user_group(user.pk)], events.notifications_read(0))


@transaction.atomic
def settle_notifications(*, user_id: int, kind: str, actor_id: int | None = None, conversation_id: int | None = None) -> None:
    """Mark read what the user has just dealt with (the chat they read, the request they answered)."""
    matching = Notification.objects.filter(recipient_id=user_id, kind=kind, read_at__isnull=True)
    if actor_id is not None:
        matching = matching.filter(actor_id=actor_id)
    if conversation_id is not None:
        matching = matching.filter(conversation_id=conversation_id)
    if matching.update(read_at=timezone.now()):
        publish_on_commit([user_group(user_id)], events.notifications_read(selectors.count_unread_notifications(user_id)))


def mark_conversation_notifications_read(*, user_id: int, conversation_id: int) -> None:
    """Reading a chat settles its "new messages" notification, and closes the chat's pushed
    notifications on the person's devices."""
    settle_notifications(user_id=user_id, kind=Notification.Kind.MESSAGE, conversation_id=conversation_id)
    transaction.on_commit(lambda: push.close_chat_notifications(user_id=user_id, conversation_id=conversation_id))
