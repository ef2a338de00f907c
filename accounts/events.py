"""Real-time events about people: presence, notifications, friend requests."""


from django.template.loader import render_to_string

from chatsite.realtime import event


def presence_changed(*, user_id: int, status: str, last_seen: str | None, **routing) -> dict:
    """``routing``: ``exclude_user_ids``, the people across a block who must not hear it."""
    return event("presence.changed", {"user_id": user_id, "status": status, "last_seen": last_seen}, **routing)


def notification_created(notification, unread: int) -> dict:
    return event("notification.created", {
        "id": notification.pk, "kind": notification.kind, "text": notification.text, "url": notification.url,
        "unread": unread, "conversation": notification.conversation_id,
        "html": render_to_string("accounts/partials/notification.html", {"notification": notification}),
    })


def notification_count(unread: int, *, text: str, url: str) -> dict:
    """A notification made in bulk: the bell count and the text (the page lists it on next load)."""
    return event("notification.created", {"id": None, "kind": "mention", "text": text, "url": url, "unread": unread,
                                           "html": None})


def notifications_read(unread: int) -> dict:
    return event("notifications.read", {"unread": unread})


def friends_changed(*, other_id: int) -> dict:
    """Tells a user's tabs that their friends or requests changed (the People page refreshes)."""
    return event("friends.changed", {"user_id": other_id})
