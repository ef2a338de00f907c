"""Signs a WebSocket in from its session cookie, once, at the handshake.

Channels' AuthMiddlewareStack does the same job, but its session middleware also wraps every frame
the server sends (to save a session the socket never changes), and it leaves ``scope["user"]`` a
lazy proxy that every attribute read goes through. Under a 20-member fan-out those two cost ~10 % of
the server's time (py-spy, bench/run.py --profile). Here the session and the user are read in one
database call and put in the scope as plain objects; outgoing frames go straight to the server.
The checks are Django's own (``django.contrib.auth.get_user``, as for a page: the backend, and the
session hash that a password change invalidates, with SECRET_KEY_FALLBACKS).
"""

from importlib import import_module
from types import SimpleNamespace

from channels.sessions import CookieMiddleware
from django.conf import settings
from django.contrib.auth import get_user

from .realtime import in_database_thread


class SessionAuthMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        session_key = scope.get("cookies", {}).get(settings.SESSION_COOKIE_NAME)
        session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        # The store reads the session on first use: inside this one database call.
        user = await in_database_thread(get_user, SimpleNamespace(session=session))
        return await self.inner(dict(scope, session=session, user=user), receive, send)


def SessionAuthMiddlewareStack(inner):
    return CookieMiddleware(SessionAuthMiddleware(inner))
