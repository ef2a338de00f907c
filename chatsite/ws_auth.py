"""Signs a WebSocket in, once, at the handshake: from its session cookie (a browser tab), or from
an API credential (an app, a bot): a bearer token offered as the subprotocol ``bearer.<token>``
beside ``chat.v1``, or a one-time ticket in ``?ticket=`` (POST /api/v1/socket/ticket).

A handshake that offers an API credential is signed in by it alone: a bad one is refused, never
retried with the cookie, so a page of another site cannot open the visitor's session by adding
a bogus credential (see SameOriginValidator, which checks only cookie sockets).

Channels' AuthMiddlewareStack does the same job, but its session middleware also wraps every frame
the server sends (to save a session the socket never changes), and it leaves ``scope["user"]`` a
lazy proxy that every attribute read goes through. Under a 20-member fan-out those two cost ~10 % of
the server's time (py-spy, bench/run.py --profile). Here the session and the user are read in one
database call and put in the scope as plain objects; outgoing frames go straight to the server.
The checks are Django's own (``django.contrib.auth.get_user``, as for a page: the backend, and the
session hash that a password change invalidates, with SECRET_KEY_FALLBACKS).
"""

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from types import SimpleNamespace
from urllib.parse import parse_qs

from channels.sessions import CookieMiddleware
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host

from .protocol import BEARER_PREFIX, SUBPROTOCOL
from .realtime import in_database_thread


@dataclass(frozen=True)
class ApiCredential:
    """Who an API credential signs in, and until when."""
    user: object
    token_id: int | None  # the personal access token behind it (its revocation closes the socket)
    expires_at: float | None  # a Unix time: the socket is closed then (a JWT's exp, a token's expiry)
    read_only: bool = False  # a read-only token: the socket may read, not write (protocol.READ_ONLY_FRAMES)


@dataclass
class ApiSocket:
    """``scope["api"]`` of a socket that offered an API credential."""
    kind: str  # "bearer" or "ticket"
    subprotocol: str | None  # what the handshake is accepted with: chat.v1 if offered, never the token
    credential: ApiCredential | None  # None: the credential was refused


# Filled by the accounts app at start (a lower layer asks a higher one through a registry):
# (kind, value) -> ApiCredential | None, run in a database thread.
_api_authenticator: Callable[[str, str], ApiCredential | None] | None = None


def register_api_authenticator(function: Callable[[str, str], ApiCredential | None]) -> None:
    global _api_authenticator
    _api_authenticator = function


def offered_api_credential(scope) -> tuple[str, str] | None:
    """("bearer", token) or ("ticket", ticket) when the handshake offers one, read from its
    subprotocols or query string alone (no lookup): the Origin check skips these sockets."""
    for offered in scope.get("subprotocols") or ():
        if offered.startswith(BEARER_PREFIX):
            return "bearer", offered[len(BEARER_PREFIX):]
    query = scope.get("query_string") or b""
    if b"ticket=" in query:
        tickets = parse_qs(query.decode("latin-1")).get("ticket")
        return "ticket", (tickets[0] if tickets else "")
    return None


class SessionAuthMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and (offered := offered_api_credential(scope)):
            kind, value = offered
            credential = None
            if value and _api_authenticator is not None:
                credential = await in_database_thread(_api_authenticator, kind, value)
            subprotocol = SUBPROTOCOL if SUBPROTOCOL in (scope.get("subprotocols") or ()) else None
            api = ApiSocket(kind=kind, subprotocol=subprotocol, credential=credential)
            user = credential.user if credential else AnonymousUser()
            return await self.inner(dict(scope, session=None, user=user, api=api), receive, send)
        session_key = scope.get("cookies", {}).get(settings.SESSION_COOKIE_NAME)
        session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        # The store reads the session on first use: inside this one database call.
        user = await in_database_thread(get_user, SimpleNamespace(session=session))
        return await self.inner(dict(scope, session=session, user=user), receive, send)


def SessionAuthMiddlewareStack(inner):
    return CookieMiddleware(SessionAuthMiddleware(inner))


class SameOriginValidator:
    """Refuses a WebSocket whose Origin is not the site's own scheme, host and port (or one of
    CSRF_TRUSTED_ORIGINS), before it is signed in: a page on another port or scheme of the same
    host could otherwise open the signed-in person's socket with their cookies (cross-site
    WebSocket hijacking), which a host-name-only check lets through. The site's own origin is the
    one the handshake came to: the Host header, with https/wss when the request was secure
    (directly, or by SECURE_PROXY_SSL_HEADER behind a proxy), as Django's CSRF check judges it.

    A socket that offers an API credential (a bearer subprotocol, a ticket) is not checked: it is
    signed in by that credential alone, never by the cookie the browser attaches (see
    SessionAuthMiddleware), so another site's page gains nothing it did not already hold. Bots and
    apps send no Origin, or their own. A ticket comes only from the API, which takes no cookie (a
    bearer token) and no cross-origin call from a browser (CORS is off by default)."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not offered_api_credential(scope) and not self.allowed(scope):
            return await _refuse(receive, send)
        return await self.inner(scope, receive, send)

    @staticmethod
    def allowed(scope) -> bool:
        headers = {name: value for name, value in scope.get("headers", ())}
        try:
            origin = headers.get(b"origin", b"").decode("latin-1").rstrip("/").lower()
            host = headers.get(b"host", b"").decode("latin-1").lower()
        except UnicodeDecodeError:
            return False
        if not origin or not host or not validate_host(split_domain_port(host)[0], settings.ALLOWED_HOSTS):
            return False
        secure = scope.get("scheme") in ("wss", "https")
        proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
        if proxy_header:
            name, value = proxy_header
            forwarded = headers.get(name.removeprefix("HTTP_").replace("_", "-").lower().encode(), b"")
            secure = forwarded.decode("latin-1").split(",")[0].strip() == value
        own = _origin("https" if secure else "http", host)
        return _parsed(origin) in {own, *(_parsed(o.rstrip("/").lower()) for o in settings.CSRF_TRUSTED_ORIGINS)}


def _origin(scheme: str, host: str) -> str:
    """scheme://host[:port], lower case, with the scheme's default port left out."""
    name, port = split_domain_port(host)
    default = {"https": "443", "http": "80"}.get(scheme)
    return f"{scheme}://{name}" + (f":{port}" if port and port != default else "")


def _parsed(origin: str) -> str:
    scheme, _, host = origin.partition("://")
    return _origin(scheme, host)


async def _refuse(receive, send):
    """Close the handshake with 403, as Channels' OriginValidator does."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close"})
