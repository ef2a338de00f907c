"""The accounts app's background work: Web Push delivery (accounts/push.py)."""

from chatsite.tasks import durable_task

from . import push


# Push services are down for minutes at a time, and a push after an hour is still worth having
# (the push service itself drops it after PUSH_TTL_SECONDS): a few retries, backing off.
@durable_task(retries=5, backoff=10, max_backoff=900, retry_on=(push.PushFailed,), private_args=("content",))
def deliver_push(*, user_ids: list[int], content: dict, key: str, actor_id: int | None = None,
                 visible: list[str] = ()) -> int:
    """Push ``content`` to these people's devices, once per device for ``key``, but not to the
    ``visible`` ones (a tab showing the site when the push was queued)."""
    return push.deliver(user_ids=user_ids, content=content, key=key, actor_id=actor_id, visible=visible)


@durable_task(retries=3, backoff=10, max_backoff=300, retry_on=(push.PushFailed,))
def close_notifications(*, user_id: int, tag: str) -> int:
    """Close a chat's notifications on every device of a person who has just read it."""
    return push.close(user_id=user_id, tag=tag)
