"""Web Push (RFC 8030 / 8291 / 8292): from this server straight to each browser's push service.

A device subscribes from the settings page (``subscribe``); the higher layers say, after their
commit, who might be told of what (``queue_push``: at most one query, none when the caller's own
query already said nobody has a subscription); the ``deliver_push`` task (accounts/tasks.py) then decides per person and per
device (blocks, quiet hours, private previews, a visible tab on that device) and sends, with
retries. Each device gets a given message once; a push service's 404/410 deletes the subscription.

Devices with a visible tab say so over the socket (``report_device``): a cache entry per person,
refreshed by the tab, gone a short while after the tab is; ``queue_push`` reads it in the server
process and hands the delivery the devices to skip.
"""

import base64
import binascii
import hashlib
import json
import logging
import time as clock
from datetime import datetime, time
from functools import cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.cache import cache as django_cache
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chatsite.errors import InvalidInput

from . import policy
from .models import PushSubscription, User

logger = logging.getLogger(__name__)

# What a push is about, with the title a private preview shows instead of the content.
KINDS = ("message", "mention", "friend_request", "group_invitation", "missed_call")


def _private_title(kind: str) -> str:
    return {"friend_request": _("New friend request"), "group_invitation": _("New group invitation"),
            "missed_call": _("Missed call")}.get(kind, _("New message"))


# --- keys ------------------------------------------------------------------------------------------

@cache
def _vapid(pem: str):
    from py_vapid import Vapid02

    return Vapid02.from_pem(pem.encode())


def vapid():
    return _vapid(settings.VAPID_PRIVATE_KEY)


def application_server_key() -> str:
    """The public key the browser's pushManager.subscribe needs (base64url, uncompressed point)."""
    from cryptography.hazmat.primitives import serialization

    raw = vapid().public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- subscriptions ---------------------------------------------------------------------------------

def _b64url(value, *, length: int, what: str) -> str:
    try:
        if not isinstance(value, str) or len(value) > 200:
            raise ValueError
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != length or (length == 65 and raw[0] != 4):
        raise InvalidInput(_("The browser sent a push subscription with a bad %(what)s key.") % {"what": what},
                           field=what)
    return value


def _clean_endpoint(endpoint) -> str:
    parts = urlsplit(endpoint) if isinstance(endpoint, str) and len(endpoint) <= 1000 else None
    # Push services are HTTPS; plain HTTP only on this machine (a push service under test).
    loopback = parts is not None and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts is None or not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise InvalidInput(_("The browser sent a push subscription without a valid https:// endpoint."),
                           field="endpoint")
    return endpoint


@transaction.atomic
def subscribe(*, user: User, endpoint: str, p256dh: str, auth: str, user_agent: str = "") -> PushSubscription:
    """Store this device's subscription. The endpoint identifies the device: subscribing again
    (new keys) updates it, and a browser now signed in as someone else moves to them."""
    endpoint = _clean_endpoint(endpoint)
    p256dh = _b64url(p256dh, length=65, what="p256dh")
    auth = _b64url(auth, length=16, what="auth")
    subscription, _created = PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth,
                                     "user_agent": str(user_agent or "")[:120]})
    return subscription


@transaction.atomic
def unsubscribe(*, user: User, endpoint: str) -> bool:
    """Forget this device (the switch turned off): True if it was stored."""
    if not isinstance(endpoint, str):
        return False
    deleted, _rows = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return bool(deleted)


def device_label(user_agent: str) -> str:
    """"Firefox on Android" from a User-Agent header: enough to tell one's devices apart."""
    ua = user_agent or ""
    browser = next((name for token, name in (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
                                             ("Safari/", "Safari")) if token in ua), _("A browser"))
    system = next((name for token, name in (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iOS"),
                                            ("Windows", "Windows"), ("Mac OS", "macOS"), ("Linux", "Linux"))
                   if token in ua), "")
    return f"{browser} on {system}" if system else browser


# --- which device has a visible tab ----------------------------------------------------------------

def _device_digest(endpoint: str) -> str:
    # surrogatepass: a socket frame may carry a lone surrogate, which is still some endpoint's key.
    return hashlib.sha256(endpoint.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _visible_key(user_id: int) -> str:
    return f"push:visible:{user_id}"


def report_device(*, user: User, endpoint: str, visible: bool) -> None:
    """A tab says which subscription its device has and whether it is visible: one cache entry per
    person ({device digest: until when}), so a tab only ever silences its own person's devices, and
    the server process that queues a push reads it in one cache call (the worker may not share an
    in-memory cache)."""
    if not isinstance(endpoint, str) or not endpoint:
        return
    key, now, digest = _visible_key(user.pk), clock.time(), _device_digest(endpoint)
    devices = {d: until for d, until in (django_cache.get(key) or {}).items() if until > now}
    if visible:
        devices[digest] = now + settings.PUSH_PRESENCE_TTL_SECONDS
    else:
        devices.pop(digest, None)
    if devices:
        django_cache.set(key, devices, timeout=settings.PUSH_PRESENCE_TTL_SECONDS)
    else:
        django_cache.delete(key)


def visible_devices(user_ids) -> list[str]:
    """"<user id>:<device digest>" of each device of these people with a visible tab now."""
    now = clock.time()
    found = django_cache.get_many([_visible_key(uid) for uid in user_ids])
    return [f"{key.rsplit(':', 1)[1]}:{digest}" for key, devices in found.items()
            for digest, until in devices.items() if until > now]


def _visible_devices(subscriptions) -> set[int]:
    """Which of these subscriptions' devices have a visible tab (for tests and the delivery)."""
    visible = set(visible_devices({s.user_id for s in subscriptions}))
    return {s.pk for s in subscriptions if f"{s.user_id}:{_device_digest(s.endpoint)}" in visible}


# --- quiet hours -----------------------------------------------------------------------------------

def user_zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.time_zone or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def in_quiet_hours(user: User, *, now: datetime | None = None) -> bool:
    start, end = user.quiet_hours_start, user.quiet_hours_end
    if start is None or end is None or start == end:
        return False
    local: time = (now or timezone.now()).astimezone(user_zone(user)).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end  # across midnight, e.g. 22:00 to 07:00


# --- queuing (called by the layers above, after their commit) --------------------------------------

def chat_tag(conversation_id: int) -> str:
    return f"chat-{conversation_id}"


def subscribed_sql(user_column: str) -> str:
    """An SQL condition that is true when the person in ``user_column`` has a push subscription:
    for a hot path that asks in a query it runs anyway (messaging.store), not in one more."""
    table = connection.ops.quote_name(PushSubscription._meta.db_table)
    column = connection.ops.quote_name(PushSubscription._meta.get_field("user").column)
    return f"EXISTS (SELECT 1 FROM {table} WHERE {table}.{column} = {user_column})"


def queue_push(*, audiences: list[tuple[set[int] | list[int], dict]], key: str, actor_id: int | None = None,
               checked: set[int] = frozenset(), subscribed: set[int] = frozenset()) -> None:
    """Push ``content`` to each audience's people (content: kind, title, body, url, tag), once per
    device for ``key`` (a message's pushes share its key, so nobody's device hears of it twice).

    Call it after the commit, off the sender's path. ``checked``: people the caller already knows
    about, ``subscribed`` those of them with a subscription (from ``subscribed_sql``); the others
    cost one query. Nobody subscribed: nothing more; otherwise the delivery task decides the rest."""
    if not settings.PUSH_ENABLED:
        return
    everyone = set().union(*(set(ids) for ids, _content in audiences)) - {actor_id}
    if not everyone:
        return
    subscribed = set(subscribed) & everyone
    if unknown := everyone - set(checked):
        subscribed |= set(PushSubscription.objects.filter(user_id__in=unknown).values_list("user_id", flat=True))
    if not subscribed:
        return
    from chatsite.tasks import enqueue_on_commit

    from .tasks import deliver_push

    # Read here, in a server process, where the tabs' reports are (the worker may be another).
    visible = visible_devices(subscribed)
    seen: set[int] = set()
    for ids, content in audiences:
        ids = sorted((set(ids) & subscribed) - seen - {actor_id})
        seen.update(ids)
        if not ids:
            continue
        enqueue_on_commit(deliver_push, user_ids=ids, content=content, key=key, actor_id=actor_id, visible=visible)
        if content.get("conversation_id") and content.get("tag") == chat_tag(content["conversation_id"]):
            # Reading this chat will close its notification on these people's devices.
            django_cache.set_many({_shown_key(uid, content["conversation_id"]): 1 for uid in ids},
                                  timeout=settings.PUSH_TTL_SECONDS)


def close_chat_notifications(*, user_id: int, conversation_id: int) -> None:
    """The person read this chat: tell each of their devices that was pushed about it to close that
    chat's notifications. A cache flag set by the delivery makes this free for everyone else."""
    if not settings.PUSH_ENABLED:
        return
    flag = _shown_key(user_id, conversation_id)
    if django_cache.get(flag) is None:
        return
    django_cache.delete(flag)
    from chatsite.tasks import enqueue_on_commit

    from .tasks import close_notifications

    enqueue_on_commit(close_notifications, user_id=user_id, tag=chat_tag(conversation_id))


def _shown_key(user_id: int, conversation_id: int) -> str:
    return f"push:shown:{user_id}:{conversation_id}"


# --- delivery (run by accounts/tasks.py) -----------------------------------------------------------

class PushFailed(Exception):
    """Some devices could not be reached: the task is retried for them (the others are done)."""


def payload_for(user: User, content: dict) -> dict:
    """What this person's notification shows: the content, or with private previews only what kind
    of thing it is."""
    data = {"type": "show", "kind": content["kind"], "title": content["title"], "body": content.get("body", ""),
            "url": content.get("url", "/"), "tag": content.get("tag", content["kind"])}
    if user.push_private_previews:
        data["title"], data["body"] = _private_title(content["kind"]), ""
    return data


def deliver(*, user_ids: list[int], content: dict, key: str, actor_id: int | None, visible=()) -> int:
    """Send ``content`` to every device of these people that should have it, but those ``visible``
    ("<user id>:<device digest>", from queue_push); the number sent."""
    from chatsite.tasks import claim_key, key_is_claimed

    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids, is_active=True)}
    if actor_id is not None and users:
        for blocker in policy.blocker_ids(actor_id, among=set(users)):
            users.pop(blocker, None)
    users = {pk: u for pk, u in users.items() if not in_quiet_hours(u)}
    subscriptions = list(PushSubscription.objects.filter(user_id__in=users))
    visible = set(visible)
    sent, failed = 0, []
    for subscription in subscriptions:
        done_key = f"push:{key}:{subscription.pk}"
        if f"{subscription.user_id}:{_device_digest(subscription.endpoint)}" in visible or key_is_claimed(done_key):
            continue
        data = payload_for(users[subscription.user_id], content)
        outcome = _send(subscription, data, topic=data["tag"])
        if outcome == "failed":
            failed.append(subscription.pk)
            continue
        if outcome == "sent":
            claim_key(done_key)
            sent += 1
    if failed:
        raise PushFailed(f"{len(failed)} device(s) did not take the push: {failed}")
    return sent


def close(*, user_id: int, tag: str) -> int:
    """A silent update: each device's service worker closes the notifications tagged ``tag``."""
    failed, sent = [], 0
    for subscription in PushSubscription.objects.filter(user_id=user_id):
        outcome = _send(subscription, {"type": "close", "tag": tag}, topic=tag)
        if outcome == "failed":
            failed.append(subscription.pk)
        sent += outcome == "sent"
    if failed:
        raise PushFailed(f"{len(failed)} device(s) did not take the update: {failed}")
    return sent


def _send(subscription: PushSubscription, data: dict, *, topic: str) -> str:
    """One encrypted, signed POST to the device's push service: "sent", "gone" (deleted) or "failed"."""
    import requests
    from pywebpush import WebPushException, webpush

    try:
        webpush(subscription_info={"endpoint": subscription.endpoint,
                                   "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}},
                data=json.dumps(data), vapid_private_key=vapid(), vapid_claims={"sub": settings.VAPID_SUBJECT},
                ttl=settings.PUSH_TTL_SECONDS, timeout=settings.PUSH_TIMEOUT_SECONDS,
                # Topic: a newer push about the same chat replaces one still waiting for the device.
                headers={"Topic": hashlib.sha256(topic.encode()).hexdigest()[:32], "Urgency": "normal"})
    except WebPushException as error:
        status = getattr(error.response, "status_code", None)
        if status in (404, 410):  # the browser dropped the subscription: never try it again
            PushSubscription.objects.filter(pk=subscription.pk).delete()
            return "gone"
        if status is not None and 400 <= status < 500 and status != 429:
            # The push service refused this push itself (too big, bad headers): another try is the same.
            logger.error("push service refused a push to subscription %s: %s", subscription.pk, status)
            return "refused"
        logger.warning("push to subscription %s failed: %s", subscription.pk, status or error)
        return "failed"
    except requests.RequestException as error:
        logger.warning("push to subscription %s failed: %r", subscription.pk, error)
        return "failed"
    PushSubscription.objects.filter(pk=subscription.pk).update(last_used_at=timezone.now())
    return "sent"
