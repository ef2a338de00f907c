"""The HTTP API at /api/v1/ (django-ninja): each app's router (``<app>/api.py``) mounted under one
versioned API, its OpenAPI schema at /api/v1/openapi.json and interactive docs at /api/v1/docs.

Like urls.py this module wires the apps together, so it is the one place in chatsite that imports
them. Every error is the body ``{"error": {"code", "message", "field"?}}`` with the platform's code.
"""

import logging

from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from accounts.api import notification_router, people_router, token_router
from accounts.api import router as accounts_router
from accounts.api_auth import bearer_auth
from accounts.api_socket import router as socket_router
from calls.api import router as calls_router
from groups.api import router as groups_router
from messaging.api import file_router, message_router
from messaging.api import router as conversations_router
from messaging.api_webhooks import router as webhooks_router

from .errors import ErrorCode, RateLimited, ServiceError

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title=f"{settings.SITE_NAME} API",
    version="1",
    description="Everything a person can do on the site, for apps, bots and scripts. Authenticate "
                "with `Authorization: Bearer <token>`: a personal access token (Settings → API tokens) "
                "or an access token from the app sign-in API at /_allauth/app/v1/.",
    auth=bearer_auth,
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)

api.add_router("/", accounts_router)
api.add_router("/", people_router)
api.add_router("/", conversations_router)
api.add_router("/", message_router)
api.add_router("/", file_router)
api.add_router("/", groups_router)
api.add_router("/", calls_router)
api.add_router("/", notification_router)
api.add_router("/", token_router)
api.add_router("/", socket_router)
api.add_router("/", webhooks_router)


def _error(request, status: int, code: str, message: str, field: str | None = None, headers=None):
    body = {"code": str(code), "message": str(message)}
    if field:
        body["field"] = field
    response = api.create_response(request, {"error": body}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(ServiceError)
def service_error(request, exc: ServiceError):
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) and exc.retry_after else None
    return _error(request, exc.status, exc.code, exc.message, exc.field, headers)


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    first = exc.errors[0] if exc.errors else {}
    location = [str(part) for part in first.get("loc", ())]
    # ("body", "<parameter>", "about") names the field "about"; ("query", "limit") names "limit".
    location = location[2:] if location[:1] == ["body"] and len(location) > 2 else location[1:]
    field = ".".join(location) or None
    message = first.get("msg") or _("The request is not valid.")
    return _error(request, 422, ErrorCode.INVALID, f"{field}: {message}" if field else message, field)


@api.exception_handler(AuthenticationError)
def unauthorized(request, exc):
    return _error(request, 401, ErrorCode.UNAUTHORIZED,
                  _("Sign in: send Authorization: Bearer with a personal access token or an access token."),
                  headers={"WWW-Authenticate": "Bearer"})


@api.exception_handler(AuthorizationError)
def forbidden(request, exc):
    return _error(request, 403, ErrorCode.FORBIDDEN, _("You may not do that."))


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    # Ninja's own refusals (a body that is not JSON, a wrong content type) in the one error shape.
    if exc.status_code == 400:
        return _error(request, 400, ErrorCode.INVALID, _("The request body is not valid JSON."))
    return _error(request, exc.status_code, ErrorCode.INVALID, _("The request is not valid."))


@api.exception_handler(Http404)
def not_found(request, exc):
    return _error(request, 404, ErrorCode.NOT_FOUND, _("Not found."))


@api.exception_handler(Exception)
def server_error(request, exc):
    logger.exception("API error on %s %s", request.method, request.path)
    return _error(request, 500, ErrorCode.SERVER_ERROR, _("Something went wrong on our side. Please try again."))


def api_urls():
    """The API's URL patterns, marked public for LoginRequiredMiddleware: the API signs its
    callers in itself (a bearer token), and answers 401 in JSON, never a redirect to a login page."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback.login_required = False
    return patterns, app_name, namespace
