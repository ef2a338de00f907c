"""Retention: deleting old messages for good, their files with them."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from .models import Attachment, Message

BATCH = 500


@dataclass
class Purged:
    messages: int = 0
    files: int = 0
    bytes: int = 0


def purge_messages(*, older_than: timedelta, conversation_id: int | None = None, dry_run: bool = False,
                   on_batch: Callable[[int], None] | None = None) -> Purged:
    """Delete every message sent before ``now - older_than`` (in one chat, or everywhere), with its
    reactions, stars, mentions and files, in batches (each its own transaction, so a long purge
    never holds one lock for long). ``dry_run`` counts what would go and changes nothing."""
    old = Message.objects.filter(created_at__lt=timezone.now() - older_than)
    if conversation_id is not None:
        old = old.filter(conversation_id=conversation_id)
    total = Purged()
    if dry_run:
        files = Attachment.objects.filter(message__in=old).aggregate(count=Count("id"), size=Sum("size"))
        total.messages, total.files, total.bytes = old.count(), files["count"], files["size"] or 0
        return total
    while ids := list(old.order_by("pk").values_list("pk", flat=True)[:BATCH]):
        with transaction.atomic():
            files = Attachment.objects.filter(message_id__in=ids).aggregate(count=Count("id"), size=Sum("size"))
            total.files += files["count"]
            total.bytes += files["size"] or 0
            # Deleting the rows deletes the files: messaging.uploads' post_delete handler, after commit.
            total.messages += Message.objects.filter(pk__in=ids).delete()[1].get("messaging.Message", 0)
        if on_batch:
            on_batch(len(ids))
    return total
