"""Retention: deleting old messages for good, their files with them."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
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
        files = Attachment.objects.filter(message__in=old)
        total.messages, total.files = old.count(), files.count()
        total.bytes = sum(files.values_list("size", flat=True))
        return total
    while ids := list(old.order_by("pk").values_list("pk", flat=True)[:BATCH]):
        with transaction.atomic():
            files = list(Attachment.objects.filter(message_id__in=ids))
            names = [(f.file.storage, name) for f in files for name in (f.file.name, f.thumbnail.name) if name]
            total.files += len(files)
            total.bytes += sum(f.size for f in files)
            Attachment.objects.filter(pk__in=[f.pk for f in files]).delete()
            total.messages += Message.objects.filter(pk__in=ids).delete()[1].get("messaging.Message", 0)
            transaction.on_commit(lambda names=names: [storage.delete(name) for storage, name in names])
        if on_batch:
            on_batch(len(ids))
    return total
