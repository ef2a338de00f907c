"""Who is calling the API: a personal access token (bots, scripts) or an allauth headless JWT
access token (apps), both in ``Authorization: Bearer``. The same check counts the caller's rate
limit and holds a read-only token to reading."""

from allauth.headless.tokens.strategies.jwt.internal import validate_access_token
from django.conf import settings
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from chatsite import ratelimit
from chatsite.errors import ErrorCode, NotAllowed

from .services.tokens import TOKEN_PREFIX, authenticate_api_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Endpoints (url_name) a read-only token may POST to: a socket ticket changes nothing, and the
# socket it opens keeps the token's scope (chatsite.protocol.READ_ONLY_FRAMES).
READ_SCOPE_POSTS = frozenset({"socket_ticket"})


class BearerAuth(HttpBearer):
    def authenticate(self, request, token: str):
        api_token = None
        if token.startswith(TOKEN_PREFIX):
            api_token = authenticate_api_token(token)
            user = api_token.user if api_token else None
        else:
            found = validate_access_token(token)
            user = found[0] if found else None
            # A socket ticket made with it lasts no longer than the token itself.
            request.auth_expires_at = found[1].get("exp") if found else None
        if user is None or not user.is_active:
            return None
        if (api_token is not None and not api_token.can_write and request.method not in SAFE_METHODS
                and getattr(request.resolver_match, "url_name", None) not in READ_SCOPE_POSTS):
            raise NotAllowed(_("This token is read-only: make a read and write token to change things."),
                             code=ErrorCode.READ_ONLY_TOKEN)
        ratelimit.hit("api", f"t{api_token.pk}" if api_token else f"u{user.pk}", settings.API_RATE_LIMIT,
                      _("Too many requests with this token. Wait for the time in Retry-After."))
        request.user = user
        request.api_token = api_token
        return user


bearer_auth = BearerAuth()
