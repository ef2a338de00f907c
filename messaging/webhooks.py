"""Webhooks for bots.

Outgoing: a person (a bot's account) registers a URL with an API token; the events of the chats they
are in (WEBHOOK_EVENTS) are POSTed to it as their JSON twins (the socket's API shape), signed with
HMAC-SHA256 over ``<timestamp>.<body>``, by a task after the commit, retried with backoff, and the
webhook is disabled (its person notified) after WEBHOOK_MAX_FAILURES failed calls in a row.

- The send path pays nothing while no webhook is active: the publish tap reads a flag this process
  keeps (refreshed from the cache every FLAG_SECONDS), and only when it is up looks up the webhooks
  of the event's chat, after the event went out (chatsite.realtime.run_after_publish).
- SSRF guard: the URL's host is resolved at each delivery and refused when any address is private,
  loopback, link-local or otherwise not global (unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES); the call is
  made to the address that was checked (no second lookup to rebind), with a timeout, and a redirect
  is a failure, never followed.

Incoming: a chat's URL /hooks/<secret> posts a message there as the hook's creator, "via <name>".
"""

import hashlib
import hmac
import ipaddress
import secrets
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import ApiToken, Notification, User
from chatsite import ratelimit
from chatsite.errors import ErrorCode, InvalidInput, NotAllowed, NotFound
from chatsite.protocol import WEBHOOK_EVENTS, WEBHOOK_HEADERS
from chatsite.realtime import on_publish, run_after_publish
from chatsite.tasks import claim_key, key_is_claimed
from chatsite.text import clean_text

from .models import IncomingWebhook, Membership, Webhook
from .selectors import access_membership

_WEBHOOK_EVENTS = frozenset(WEBHOOK_EVENTS)
MAX_WEBHOOKS_PER_USER = 10
SECRET_PREFIX = "whsec_"
HOOK_PREFIX = "chat_hook_"
# More attempts after a failed call, each after the tasks' exponential backoff (docs/tasks.md).
DELIVERY_RETRIES = 5
RESPONSE_BYTES_READ = 65536  # of a receiver's answer: read and dropped (it says nothing we use)
SIGNATURE_HEADER, TIMESTAMP_HEADER, EVENT_HEADER, DELIVERY_HEADER = (
    WEBHOOK_HEADERS[k] for k in ("signature", "timestamp", "event", "delivery"))


# --- the cheap flag: is any webhook active? ------------------------------------------------------
FLAG_KEY = "webhooks:any-active"
FLAG_SECONDS = 2.0  # another process sees a new webhook within this long
_flag = {"until": 0.0, "value": False}


def any_active() -> bool:
    now = time.monotonic()
    if now < _flag["until"]:
        return _flag["value"]
    value = cache.get(FLAG_KEY)
    if value is None:
        value = Webhook.objects.filter(active=True).exists()
        cache.set(FLAG_KEY, value, timeout=None)
    _flag.update(until=now + FLAG_SECONDS, value=value)
    return value


def _flag_changed() -> None:
    def reset():
        cache.delete(FLAG_KEY)
        _flag["until"] = 0.0

    transaction.on_commit(reset)


# --- registering ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewWebhook:
    webhook: Webhook
    secret: str  # the signing key, shown once


_validate_url = URLValidator(schemes=["http", "https"])


def _clean_url(url) -> str:
    url = (url or "").strip() if isinstance(url, str) else ""
    try:
        _validate_url(url)
    except ValidationError:
        raise InvalidInput(_("Give the webhook an http:// or https:// URL."), field="url",
                           code=ErrorCode.WEBHOOK_URL_REFUSED) from None
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise InvalidInput(_("A webhook URL cannot carry a user name or password."), field="url",
                           code=ErrorCode.WEBHOOK_URL_REFUSED)
    if len(url) > Webhook._meta.get_field("url").max_length:
        raise InvalidInput(_("That URL is too long."), field="url", code=ErrorCode.WEBHOOK_URL_REFUSED)
    return url


@transaction.atomic
def create_webhook(*, user: User, url: str, api_token: ApiToken | None = None) -> NewWebhook:
    """Register ``url`` for the events of ``user``'s chats. It works while ``api_token`` (the
    token that registered it, if any) does."""
    url = _clean_url(url)
    if _names_a_private_address(urlsplit(url).hostname or ""):  # seen without a lookup; resolved at each call
        raise InvalidInput(_("The site does not call private, loopback or link-local addresses: give the "
                                 "webhook a public URL."), field="url", code=ErrorCode.WEBHOOK_URL_REFUSED)
    if Webhook.objects.filter(user=user).count() >= MAX_WEBHOOKS_PER_USER:
        raise InvalidInput(_("You have %(count)s webhooks: delete one first.") % {"count": MAX_WEBHOOKS_PER_USER})
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    webhook = Webhook.objects.create(user=user, token=api_token, url=url, secret=secret)
    _flag_changed()
    return NewWebhook(webhook=webhook, secret=secret)


def list_webhooks(*, user: User):
    return Webhook.objects.filter(user=user).order_by("-created_at")


@transaction.atomic
def delete_webhook(*, user: User, webhook_id: int) -> None:
    deleted, _by_model = Webhook.objects.filter(pk=webhook_id, user=user).delete()
    if not deleted:
        raise NotFound(_("That webhook does not exist."))
    _flag_changed()


# --- fan-out: which webhooks get an event --------------------------------------------------------
@on_publish
def consider_event(groups: list[str], event: dict) -> None:
    """The publish tap: nothing but a flag read while no webhook is active."""
    if event["type"] not in _WEBHOOK_EVENTS or "text" not in event or not any_active():
        return
    run_after_publish(lambda: enqueue_deliveries(groups=groups, event=event))


def enqueue_deliveries(*, groups: list[str], event: dict) -> int:
    """One delivery task per active webhook whose person the event reaches (a member of its chat,
    or the person it was sent to), as the JSON twin the API socket gets."""
    from .tasks import deliver_webhook

    conversation_ids = [int(g.partition(".")[2]) for g in groups if g.startswith("conversation.")]
    user_ids = [int(g.partition(".")[2]) for g in groups if g.startswith("user.")]
    reaches = Q(user_id__in=user_ids)
    if conversation_ids:
        reaches |= Q(user_id__in=Membership.objects.filter(conversation_id__in=conversation_ids).values("user_id"))
    hooks = (Webhook.objects.filter(reaches, active=True)
             .filter(Q(token__isnull=True) | Q(token__revoked_at__isnull=True)))
    if excluded := event.get("exclude_user_ids"):
        hooks = hooks.exclude(user_id__in=excluded)
    body = event.get("api_text") or event["text"]
    count = 0
    for webhook_id in hooks.values_list("pk", flat=True):
        deliver_webhook.enqueue(webhook_id=webhook_id, delivery_id=uuid.uuid4().hex, event_type=event["type"],
                                body=body)
        count += 1
    return count


# --- delivering -----------------------------------------------------------------------------------
class DeliveryError(Exception):
    """A call that did not succeed. ``refused``: the URL's address may not be called at all."""

    def __init__(self, message: str, *, refused: bool = False):
        super().__init__(message)
        self.refused = refused


class DeliveryFailed(Exception):
    """Raised by the task so that it is retried (chatsite.tasks.DurableTask)."""


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _names_a_private_address(host: str) -> bool:
    """A host that is a private address as written (an IP literal, localhost): refused when the
    webhook is registered, without a DNS lookup (names are resolved, and checked, at each call)."""
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return False
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not _is_public(ipaddress.ip_address(host))
    except ValueError:
        return False  # a name


def resolve_public_address(url: str) -> tuple[str, int, str]:
    """(scheme, port, address) to call for ``url``: its host resolved now, every address checked."""
    parts = urlsplit(url)
    scheme, host = parts.scheme, parts.hostname
    if scheme not in ("http", "https") or not host:
        raise DeliveryError(_("Give the webhook an http:// or https:// URL."), refused=True)
    try:
        port = parts.port or (443 if scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError) as error:
        raise DeliveryError(f"cannot resolve {host}: {error}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise DeliveryError(f"{host} has no address")
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES and not all(_is_public(a) for a in addresses):
        raise DeliveryError(_("The webhook's address is private, loopback or link-local: the site does not "
                              "call those."), refused=True)
    return scheme, port, str(addresses[0])


def sign(secret: str, timestamp: str, body: str) -> str:
    """The X-Chat-Signature value: ``sha256=`` and the HMAC-SHA256 of ``<timestamp>.<body>``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def post_signed(webhook: Webhook, *, delivery_id: str, event_type: str, body: str) -> int:
    """One call: the status code of a 2xx answer, or DeliveryError."""
    scheme, port, address = resolve_public_address(webhook.url)
    parts = urlsplit(webhook.url)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json", "User-Agent": f"{settings.SITE_NAME}-Webhooks/1",
        "Host": parts.netloc, EVENT_HEADER: event_type, DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(webhook.secret, timestamp, body),
    }
    timeout = urllib3.Timeout(connect=settings.WEBHOOK_TIMEOUT_SECONDS, read=settings.WEBHOOK_TIMEOUT_SECONDS)
    # To the address that was checked, not to the name (which could resolve elsewhere by now).
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1,
                                           server_hostname=parts.hostname, assert_hostname=parts.hostname,
                                           ssl_context=ssl.create_default_context())
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        response = pool.urlopen("POST", path, body=body.encode(), headers=headers, redirect=False,
                                assert_same_host=False, preload_content=False)
        try:
            response.read(RESPONSE_BYTES_READ)
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as error:
        raise DeliveryError(f"{type(error).__name__}: {error}"[:300]) from None
    finally:
        pool.close()
    if not 200 <= response.status < 300:
        what = "a redirect (not followed)" if 300 <= response.status < 400 else "an error"
        raise DeliveryError(f"HTTP {response.status}: {what}")
    return response.status


def deliver(*, webhook_id: int, delivery_id: str, event_type: str, body: str) -> str:
    """The delivery task's work. Raises DeliveryFailed for a retry; a webhook gone, stopped or
    disabled is skipped."""
    webhook = (Webhook.objects.select_related("token").filter(pk=webhook_id, active=True).first())
    if webhook is None or (webhook.token_id and webhook.token.revoked_at is not None):
        return "skipped"
    key = f"webhook:{delivery_id}"
    if key_is_claimed(key):  # delivered already: this run is a task run again (a worker was lost)
        return "delivered"
    try:
        post_signed(webhook, delivery_id=delivery_id, event_type=event_type, body=body)
    except DeliveryError as error:
        if _record_failure(webhook, str(error)):
            return "disabled"
        raise DeliveryFailed(str(error)) from None
    claim_key(key)
    Webhook.objects.filter(pk=webhook.pk).update(failures=0, last_error="", last_success_at=timezone.now())
    return "delivered"


def _record_failure(webhook: Webhook, error: str) -> bool:
    """Count a failed call; True when it disabled the webhook (its person is told once)."""
    from django.db.models import F

    with transaction.atomic():
        Webhook.objects.filter(pk=webhook.pk).update(failures=F("failures") + 1, last_error=error[:300])
        failures = Webhook.objects.values_list("failures", flat=True).get(pk=webhook.pk)
        if failures < settings.WEBHOOK_MAX_FAILURES:
            return False
        if Webhook.objects.filter(pk=webhook.pk, active=True).update(active=False, disabled_at=timezone.now()):
            _flag_changed()
            account_services.notify(
                recipient_id=webhook.user_id, kind=Notification.Kind.WEBHOOK_DISABLED,
                text=_("Your webhook %(url)s was turned off after %(count)s failed calls in a row (%(error)s). "
                       "Register it again once it answers.") % {"url": webhook.url[:80], "count": failures,
                                                                 "error": error[:60]})
    return True


# --- incoming webhooks ----------------------------------------------------------------------------
@dataclass(frozen=True)
class NewIncomingWebhook:
    hook: IncomingWebhook
    secret: str  # the whole secret of its URL, shown once


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _may_manage(membership: Membership) -> bool:
    """Who may add a hook to a chat: anyone who may post in it (a group's post policy)."""
    conversation = membership.conversation
    return not conversation.is_group or membership.may(conversation.post_policy)


@transaction.atomic
def create_incoming_webhook(*, user: User, conversation_id: int, name: str) -> NewIncomingWebhook:
    membership = access_membership(user, conversation_id)
    if membership.conversation.kind == membership.conversation.Kind.ASSISTANT:
        raise NotAllowed(_("The assistant's chat takes no webhooks."))
    if not _may_manage(membership):
        raise NotAllowed(_("Only admins can add webhooks to this group."))
    name = clean_text(name, max_length=IncomingWebhook._meta.get_field("name").max_length, what=_("A name"),
                      field="name")
    secret = HOOK_PREFIX + secrets.token_urlsafe(32)
    hook = IncomingWebhook.objects.create(conversation_id=membership.conversation_id, creator=user, name=name,
                                          secret_hash=hash_secret(secret), prefix=secret[:len(HOOK_PREFIX) + 4])
    return NewIncomingWebhook(hook=hook, secret=secret)


def list_incoming_webhooks(*, user: User, conversation_id: int):
    membership = access_membership(user, conversation_id)
    return (IncomingWebhook.objects.filter(conversation_id=membership.conversation_id, revoked_at__isnull=True)
            .select_related("creator").order_by("-created_at"))


@transaction.atomic
def revoke_incoming_webhook(*, user: User, hook_id: int) -> IncomingWebhook:
    """Its creator, or an admin of its group, turns it off: its URL stops working at once."""
    hook = IncomingWebhook.objects.select_related("conversation").filter(pk=hook_id, revoked_at__isnull=True).first()
    if hook is None:
        raise NotFound(_("That webhook does not exist or was already revoked."))
    membership = access_membership(user, hook.conversation_id)
    if hook.creator_id != user.pk and not (hook.conversation.is_group and membership.is_admin):
        raise NotAllowed(_("Only its creator or a group admin can revoke this webhook."))
    hook.revoked_at = timezone.now()
    hook.save(update_fields=["revoked_at"])
    return hook


def post_through_incoming_webhook(*, secret: str, text):
    """A script's message: posted as the hook's creator (with their rights now: a creator who left
    the chat or may no longer post is refused), "via <hook name>"."""
    from . import services

    hook = None
    if isinstance(secret, str) and secret.startswith(HOOK_PREFIX) and len(secret) <= 100:
        hook = (IncomingWebhook.objects.select_related("creator")
                .filter(secret_hash=hash_secret(secret), revoked_at__isnull=True).first())
    if hook is None or not hook.creator.is_active:
        raise NotFound(_("No webhook has that address (it may have been revoked)."))
    if not isinstance(text, str):
        raise InvalidInput(_("Send a JSON object with a \u201ctext\u201d string."), field="text")
    ratelimit.hit("incoming-hook", hook.pk, settings.INCOMING_WEBHOOK_RATE_LIMIT,
                  _("This webhook is posting too fast. Wait for the time in Retry-After."))
    result = services.send_message(user=hook.creator, conversation_id=hook.conversation_id, body=text, via=hook.name)
    IncomingWebhook.objects.filter(pk=hook.pk).update(last_used_at=timezone.now())
    return result.message
