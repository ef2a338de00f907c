"""The messaging app's background work."""

from chatsite.tasks import durable_task, periodic

from . import digests, uploads, webhooks


@periodic("send_digests", every_setting="DIGEST_EVERY_MINUTES")
@durable_task(retries=3)
def send_digests() -> int:
    """The email digests (the ``send_digests`` command does the same by hand)."""
    return digests.send_digests()


@periodic("cleanup_uploads", every_setting="UPLOAD_SWEEP_EVERY_MINUTES")
@durable_task(retries=2)
def cleanup_uploads() -> int:
    """Uploads no message claimed within UPLOAD_GRACE_MINUTES (the ``cleanup_uploads`` command by hand)."""
    return len(uploads.delete_unclaimed_uploads())


@durable_task(retries=webhooks.DELIVERY_RETRIES, retry_on=(webhooks.DeliveryFailed,), private_args=("body",))
def deliver_webhook(*, webhook_id: int, delivery_id: str, event_type: str, body: str) -> str:
    """One event to one outgoing webhook (messaging.webhooks): retried with backoff while the
    receiver fails, until the webhook is disabled."""
    return webhooks.deliver(webhook_id=webhook_id, delivery_id=delivery_id, event_type=event_type, body=body)
