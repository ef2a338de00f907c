"""Who is online, read from the presence counters in the shared cache (Redis in production, so
every process agrees). The counters' layout lives here; accounts.services.presence writes them.

Each socket counts once in ``conn`` and, while its tab is in use, once in ``active``:
online = some tab active, away = tabs open but all hidden or idle, offline = no tab.
"""

from django.core.cache import cache

from chatsite.counters import read_many

ONLINE, AWAY, OFFLINE = "online", "away", "offline"


def key(kind: str, user_id: int) -> str:
    return f"presence:{kind}:{user_id}"


def status_of(conn: int, active: int) -> str:
    return OFFLINE if conn <= 0 else (ONLINE if active > 0 else AWAY)


def statuses(user_ids) -> dict[int, str]:
    user_ids = list(set(user_ids))
    keys = {key(kind, uid): (kind, uid) for uid in user_ids for kind in ("conn", "active")}
    found = read_many(list(keys))
    counts = {uid: {"conn": 0, "active": 0} for uid in user_ids}
    for name, value in found.items():
        kind, uid = keys[name]
        counts[uid][kind] = value or 0
    return {uid: status_of(c["conn"], c["active"]) for uid, c in counts.items()}


def is_online_map(user_ids) -> dict[int, bool]:
    """Who has a tab open (online or away). Asked on every message sent, so it reads only the
    connection counters: half the keys of ``statuses``."""
    keys = {key("conn", uid): uid for uid in set(user_ids)}
    found = read_many(list(keys))
    return {uid: (found.get(name) or 0) > 0 for name, uid in keys.items()}


def active_count(user_id: int) -> int:
    return cache.get(key("active", user_id), 0) or 0


def conn_count(user_id: int) -> int:
    return cache.get(key("conn", user_id), 0) or 0
