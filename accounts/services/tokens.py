"""Personal access tokens: made, listed, revoked, and checked on every API request or socket."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chatsite.errors import InvalidInput, NotFound
from chatsite.protocol import CLOSE_SIGNED_OUT
from chatsite.realtime import publish_on_commit, token_group

from ..models import ApiToken, User

# Recognisable in logs and secret scanners; the rest is 256 random bits.
TOKEN_PREFIX = "chat_pat_"
# How often last_used_at is written for a token in use: often enough to tell a dead token from a
# live one on the settings page, rarely enough that a busy bot does not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the whole token, shown once


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_api_token(*, user: User, name: str, scope: str = ApiToken.Scope.WRITE,
                     expires_in_days: int | None = None) -> NewToken:
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("Give the token a name, so you can tell it from the others."), field="name")
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise InvalidInput(_("The name is too long."), field="name")
    if scope not in ApiToken.Scope.values:
        raise InvalidInput(_("Choose read only or read and write."), field="scope")
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise InvalidInput(_("A token lasts from 1 to 3650 days, or until it is revoked."), field="expires_in_days")
    if user.api_tokens.filter(revoked_at__isnull=True).count() >= settings.API_TOKENS_PER_USER:
        raise InvalidInput(_("You have %(count)s tokens: revoke one you no longer use first.")
                           % {"count": settings.API_TOKENS_PER_USER})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken.objects.create(user=user, name=name, scope=scope, token_hash=hash_token(secret),
                                    prefix=secret[:len(TOKEN_PREFIX) + 4], expires_at=expires_at)
    return NewToken(token=token, secret=secret)


@transaction.atomic
def revoke_api_token(*, user: User, token_id: int) -> None:
    """Revoke one of the person's tokens. It stops working at once, on the API and the socket."""
    updated = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if not updated:
        raise NotFound(_("That token does not exist or was already revoked."))
    publish_on_commit([token_group(token_id)], {"type": "session.ended", "close_code": CLOSE_SIGNED_OUT})


def authenticate_api_token(secret: str) -> ApiToken | None:
    """The live token for ``secret`` (its user loaded), or None: unknown, revoked, expired, or its
    person deactivated."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (ApiToken.objects.select_related("user")
             .filter(token_hash=hash_token(secret), revoked_at__isnull=True).first())
    now = timezone.now()
    if token is None or not token.user.is_active or (token.expires_at and token.expires_at <= now):
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def list_api_tokens(*, user: User):
    return user.api_tokens.filter(revoked_at__isnull=True).order_by("-created_at")


# --- Socket sign-in for API clients (chatsite.ws_auth) --------------------------------------------
# A ticket stands in for a bearer token where a client cannot set the socket's subprotocol: it is
# made by an API call signed in with the token, opens one socket within SOCKET_TICKET_SECONDS, and
# is then gone. Only its hash is kept (in the cache), like the tokens'.
TICKET_PREFIX = "chat_tkt_"


def _ticket_key(ticket: str) -> str:
    return f"socket-ticket:{hash_token(ticket)}"


def issue_socket_ticket(*, user: User, api_token: ApiToken | None = None, expires_at: float | None = None) -> str:
    """A one-time ticket for a socket of ``user``, bound to the token that asked for it (its
    revocation closes the socket) or to the expiry of the JWT that did (``expires_at``)."""
    from django.core.cache import cache

    if api_token is not None and api_token.expires_at:
        expires_at = api_token.expires_at.timestamp()
    ticket = TICKET_PREFIX + secrets.token_urlsafe(32)
    cache.set(_ticket_key(ticket), {"user_id": user.pk, "token_id": api_token.pk if api_token else None,
                                    "expires_at": expires_at,
                                    "read_only": bool(api_token is not None and not api_token.can_write)},
              timeout=settings.SOCKET_TICKET_SECONDS)
    return ticket


def _redeem_ticket(ticket: str):
    """The ticket's record, once: of two sockets racing with one ticket, only the one whose delete
    removed the key is let in."""
    from django.core.cache import cache

    if not ticket.startswith(TICKET_PREFIX) or len(ticket) > 100:
        return None
    key = _ticket_key(ticket)
    record = cache.get(key)
    if record is None or not cache.delete(key):
        return None
    return record


def authenticate_socket(kind: str, value: str):
    """The chatsite.ws_auth authenticator: a bearer token (personal access token or JWT access
    token) or a ticket -> ApiCredential, or None when it is not (or no longer) valid."""
    from allauth.headless.tokens.strategies.jwt.internal import validate_access_token

    from chatsite.ws_auth import ApiCredential

    if kind == "ticket":
        record = _redeem_ticket(value)
        if record is None:
            return None
        user = User.objects.filter(pk=record["user_id"], is_active=True).first()
        token_id = record["token_id"]
        if user is None or (token_id and not ApiToken.objects.filter(pk=token_id, revoked_at__isnull=True).exists()):
            return None
        return ApiCredential(user=user, token_id=token_id, expires_at=record["expires_at"],
                             read_only=record.get("read_only", False))
    if value.startswith(TOKEN_PREFIX):
        token = authenticate_api_token(value)
        if token is None:
            return None
        return ApiCredential(user=token.user, token_id=token.pk,
                             expires_at=token.expires_at.timestamp() if token.expires_at else None,
                             read_only=not token.can_write)
    try:
        found = validate_access_token(value)
    except Exception:  # a malformed JWT is a refused one
        found = None
    if not found:
        return None
    user, payload = found
    user = User.objects.filter(pk=user.pk, is_active=True).first()
    if user is None:
        return None
    return ApiCredential(user=user, token_id=None, expires_at=float(payload["exp"]) if payload.get("exp") else None)
