"""Site-wide figures for operators (``manage.py stats``) and the admin: reads only."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User

from .models import Attachment, Conversation, Message


@dataclass(frozen=True)
class Day:
    day: date
    messages: int
    active_people: int  # people who sent at least one message that day


@dataclass(frozen=True)
class SiteStats:
    people: int
    active_people: int  # seen online, or sent a message, within ``active_days``
    active_days: int
    conversations: dict[str, int]
    messages: int
    storage_bytes: int
    days: list[Day]


def messages_per_day(*, days: int) -> list[Day]:
    """The last ``days`` days, today included, oldest first; days without a message count 0."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    rows = (Message.objects.filter(created_at__date__gte=first, deleted_at__isnull=True, sender__isnull=False)
            .annotate(day=TruncDate("created_at")).values("day")
            .annotate(messages=Count("id"), active_people=Count("sender", distinct=True)))
    by_day = {row["day"]: row for row in rows}
    return [Day(day=day, messages=by_day.get(day, {}).get("messages", 0),
                active_people=by_day.get(day, {}).get("active_people", 0))
            for day in (first + timedelta(days=n) for n in range(days))]


def storage_used() -> int:
    """Bytes of every stored attachment (the originals; thumbnails are small beside them)."""
    return Attachment.objects.aggregate(total=Sum("size"))["total"] or 0


def site_stats(*, days: int = 14, active_days: int = 30) -> SiteStats:
    seen_since = timezone.now() - timedelta(days=active_days)
    people = User.objects.filter(is_active=True)
    senders = Message.objects.filter(created_at__gte=seen_since).values("sender")
    active = people.filter(Q(last_seen__gte=seen_since) | Q(pk__in=senders)).count()
    kinds = dict(Conversation.objects.values_list("kind").annotate(n=Count("id")).order_by())
    return SiteStats(
        people=people.count(), active_people=active, active_days=active_days,
        conversations={kind: kinds.get(kind, 0) for kind in Conversation.Kind.values},
        messages=Message.objects.filter(deleted_at__isnull=True, sender__isnull=False).count(),
        storage_bytes=storage_used(), days=messages_per_day(days=days),
    )
