"""Who is online: counters in the shared cache (Redis in production, so every process agrees).

Each socket counts once in ``conn`` and, while its tab is in use, once in ``active``:
online = some tab active, away = tabs open but all hidden or idle, offline = no tab.
Only transitions are broadcast, to the user's conversations and friends.
"""

from django.core.cache import cache
from django.utils import timezone

from chatsite.counters import increment
from chatsite.realtime import conversation_group, publish_on_commit, user_group

from .. import events, selectors
from ..models import User

# Counters expire if nothing refreshes them (a crashed process never says goodbye); every open
# socket's heartbeat refreshes them well within this time.
TTL = 10 * 60
ONLINE, AWAY, OFFLINE = "online", "away", "offline"


def _key(kind: str, user_id: int) -> str:
    return f"presence:{kind}:{user_id}"


def _add(kind: str, user_id: int, delta: int) -> int:
    value = increment(_key(kind, user_id), delta, timeout=TTL, restart_expiry=True)
    if value < 0:  # a close counted after its counter expired
        cache.set(_key(kind, user_id), 0, timeout=TTL)
        value = 0
    return value


def _status(conn: int, active: int) -> str:
    return OFFLINE if conn <= 0 else (ONLINE if active > 0 else AWAY)


def statuses(user_ids) -> dict[int, str]:
    user_ids = list(set(user_ids))
    keys = {_key(kind, uid): (kind, uid) for uid in user_ids for kind in ("conn", "active")}
    found = cache.get_many(list(keys))
    counts = {uid: {"conn": 0, "active": 0} for uid in user_ids}
    for key, value in found.items():
        kind, uid = keys[key]
        counts[uid][kind] = value or 0
    return {uid: _status(c["conn"], c["active"]) for uid, c in counts.items()}


def _broadcast(user: User, status: str, conversation_ids) -> None:
    last_seen = None if user.hide_last_seen or not user.last_seen else user.last_seen.isoformat()
    estranged = selectors.blocked_either_way_ids(user.pk)
    if estranged:  # no presence across a block, not even in the direct chat the two still share
        from messaging.models import Conversation

        keys = [Conversation.make_direct_key(user.pk, other) for other in estranged]
        hidden = set(Conversation.objects.filter(direct_key__in=keys).values_list("pk", flat=True))
        conversation_ids = [cid for cid in conversation_ids if cid not in hidden]
    groups = [conversation_group(cid) for cid in conversation_ids]
    groups += [user_group(fid) for fid in selectors.friend_ids(user.pk)]
    groups.append(user_group(user.pk))  # the user's own other tabs
    publish_on_commit(groups, events.presence_changed(user_id=user.pk, status=status, last_seen=last_seen))


def _active_count(user_id: int) -> int:
    return cache.get(_key("active", user_id), 0) or 0


# Each change reads its "before" from the value its own atomic increment returned, never from a
# separate read: two tabs opening and closing at once (a page navigation) cannot hide a transition.
def socket_opened(*, user: User, conversation_ids) -> None:
    conn = _add("conn", user.pk, 1)
    active = _add("active", user.pk, 1)
    if _status(conn - 1, active - 1) != ONLINE:
        _broadcast(user, ONLINE, conversation_ids)


def socket_closed(*, user: User, was_active: bool, conversation_ids) -> None:
    conn = _add("conn", user.pk, -1)
    active = _add("active", user.pk, -1) if was_active else _active_count(user.pk)
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
    conn = cache.get(_key("conn", user.pk), 0) or 0
    before, after = _status(conn, now_active - delta), _status(conn, now_active)
    if after != before:
        _broadcast(user, after, conversation_ids)


def heartbeat(*, user: User) -> None:
    for kind in ("conn", "active"):
        cache.touch(_key(kind, user.pk), TTL)


def is_online_map(user_ids) -> dict[int, bool]:
    """Who has a tab open (online or away). Asked on every message sent, so it reads only the
    connection counters: half the keys of ``statuses``."""
    keys = {_key("conn", uid): uid for uid in set(user_ids)}
    found = cache.get_many(list(keys))
    return {uid: (found.get(key) or 0) > 0 for key, uid in keys.items()}
