"""The messaging app's background work."""

from chatsite.tasks import durable_task, periodic

from . import digests


@periodic("send_digests", every_setting="DIGEST_EVERY_MINUTES")
@durable_task(retries=3)
def send_digests() -> int:
    """The email digests (the ``send_digests`` command does the same by hand)."""
    return digests.send_digests()
