"""Who is online: the writes of the presence counters (their layout and reads are in
accounts.presence_reads). Only transitions are broadcast, to the user's conversations and friends,
never to someone across a block (accounts.policy)."""

from django.core.cache import cache
from django.utils import timezone

from chatsite.counters import increment
from chatsite.realtime import conversation_group, publish_on_commit, user_group

from .. import events, policy, selectors
from ..models import User
from ..presence_reads import AWAY, OFFLINE, ONLINE, active_count, conn_count, is_online_map, key, statuses
from ..presence_reads import status_of as _status

__all__ = ["AWAY", "OFFLINE", "ONLINE", "TTL", "heartbeat", "is_online_map", "set_active", "socket_closed",
           "socket_opened", "statuses"]

# Counters expire if nothing refreshes them (a crashed process never says goodbye); every open
# socket's heartbeat refreshes them well within this time.
TTL = 10 * 60


def _add(kind: str, user_id: int, delta: int) -> int:
    value = increment(key(kind, user_id), delta, timeout=TTL, restart_expiry=True)
    if value < 0:  # a close counted after its counter expired
        cache.set(key(kind, user_id), 0, timeout=TTL)
        value = 0
    return value


def _broadcast(user: User, status: str, conversation_ids) -> None:
    last_seen = None if user.hide_last_seen or not user.last_seen else user.last_seen.isoformat()
    # To every chat of the user, but not to anyone across a block, not even in a group or the
    # direct chat the two still share: the socket drops the event for the excluded people.
    audience = policy.presence_audience(user.pk)
    groups = [conversation_group(cid) for cid in conversation_ids]
    groups += [user_group(fid) for fid in selectors.friend_ids(user.pk)]
    groups.append(user_group(user.pk))  # the user's own other tabs
    publish_on_commit(groups, events.presence_changed(user_id=user.pk, status=status, last_seen=last_seen,
                                                      **audience.routing()))


# Each change reads its "before" from the value its own atomic increment returned, never from a
# separate read: two tabs opening and closing at once (a page navigation) cannot hide a transition.
def socket_opened(*, user: User, conversation_ids) -> None:
    conn = _add("conn", user.pk, 1)
    active = _add("active", user.pk, 1)
    if _status(conn - 1, active - 1) != ONLINE:
        _broadcast(user, ONLINE, conversation_ids)


def socket_closed(*, user: User, was_active: bool, conversation_ids) -> None:
    conn = _add("conn", user.pk, -1)
    active = _add("active", user.pk, -1) if was_active else active_count(user.pk)
    before = _status(conn + 1, active + (1 if was_active else 0))
    after = _status(conn, active)
    if after == OFFLINE:
        User.objects.filter(pk=user.pk).update(last_seen=timezone.now())
        user.last_seen = timezone.now()
    if after != before:
        _broadcast(user, after, conversation_ids)


def set_active(*, user: User, active: bool, conversation_ids) -> None:
    """A tab became hidden or idle (active=False), or came back (True)."""
    delta = 1 if active else -1
    now_active = _add("active", user.pk, delta)
    conn = conn_count(user.pk)
    before, after = _status(conn, now_active - delta), _status(conn, now_active)
    if after != before:
        _broadcast(user, after, conversation_ids)


def heartbeat(*, user: User) -> None:
    for kind in ("conn", "active"):
        cache.touch(key(kind, user.pk), TTL)
