"""The email digest of unread messages, for people who have been away a while."""

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts import presence_reads
from accounts.models import Notification, User
from accounts.services.digests import unsubscribe_token

from .html import conversation_title
from .selectors import list_conversations


def unread_summary(user: User) -> list[tuple[str, int]]:
    """(chat title, unread count) for the user's unmuted chats with news since the last digest."""
    since = user.digest_sent_at
    return [
        (conversation_title(entry), entry.unread_count)
        for entry in list_conversations(user, limit=500)
        if entry.unread_count and not entry.muted and (since is None or entry.conversation.last_activity_at > since)
    ]


def missed_calls(user: User) -> list[str]:
    """The missed calls the person has not looked at since the last digest (their notifications' text)."""
    calls = Notification.objects.filter(recipient=user, kind=Notification.Kind.MISSED_CALL, read_at__isnull=True)
    if user.digest_sent_at:
        calls = calls.filter(created_at__gt=user.digest_sent_at)
    return list(calls.order_by("created_at").values_list("text", flat=True)[:20])


def send_digests(*, away_for: timedelta | None = None, now=None) -> int:
    """One email per person who opted in, is offline, has been away ``away_for`` and has unread
    messages they were not already told about. Returns how many were sent."""
    now = now or timezone.now()
    away_for = away_for if away_for is not None else timedelta(minutes=settings.DIGEST_AFTER_MINUTES)
    candidates = list(User.objects.filter(is_active=True, email_digest=True, last_seen__lte=now - away_for)
                      .exclude(Q(email="") | Q(email__isnull=True)))
    online = presence_reads.is_online_map([u.pk for u in candidates])
    sent = 0
    for user in candidates:
        if online[user.pk]:
            continue
        summary, calls = unread_summary(user), missed_calls(user)
        if not summary and not calls:
            continue
        total = sum(count for _, count in summary)
        context = {
            "user": user, "summary": summary, "total": total, "missed_calls": calls, "site_name": settings.SITE_NAME,
            "site_url": settings.SITE_URL.rstrip("/"),
            "unsubscribe_url": settings.SITE_URL.rstrip("/") + reverse("digest_unsubscribe", args=[unsubscribe_token(user)]),
        }
        subject = render_to_string("accounts/email/digest_subject.txt", context).strip()
        body = render_to_string("accounts/email/digest_message.txt", context)
        # The mail is queued in the same transaction that marks the digest sent: a digest run cut
        # off half-way and run again neither skips nor repeats anyone.
        with transaction.atomic():
            send_mail(subject, body, None, [user.email], fail_silently=False)
            User.objects.filter(pk=user.pk).update(digest_sent_at=now)
        sent += 1
    return sent
