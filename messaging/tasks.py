"""The messaging app's background work."""

from chatsite.tasks import durable_task, periodic

from . import digests, uploads


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
