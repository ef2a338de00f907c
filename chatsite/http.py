"""Helpers shared by the apps' views."""

import json
from functools import wraps
from urllib.parse import urlsplit

from django.contrib import messages as flash
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from .errors import RateLimited, ServiceError


def service_errors(view):
    """A ServiceError becomes the user's message: plain text for htmx (the page shows it in a
    toast), a flash message and a redirect back for a plain form post, or the JSON error shape for
    a client that asks for JSON only. Each answer but the redirect carries the error's code (the
    ``X-Error-Code`` header, and ``code`` in the JSON)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ServiceError as error:
            if request.accepts("application/json") and not request.accepts("text/html"):
                return json_error(error)
            if request.htmx or request.method == "GET":
                return HttpResponse(error.message, status=error.status, content_type="text/plain; charset=utf-8",
                                    headers={"X-Error-Code": error.code})
            flash.error(request, error.message)
            return safe_redirect(request, request.headers.get("Referer", ""), reverse("home"))

    return wrapper


def json_error(error: ServiceError) -> JsonResponse:
    """The one JSON shape of a refusal, ``{"error": {code, message, field?}}`` (as the API's), with
    its code in ``X-Error-Code`` and, for a rate limit, ``Retry-After``."""
    headers = {"X-Error-Code": str(error.code)}
    if isinstance(error, RateLimited) and error.retry_after:
        headers["Retry-After"] = str(error.retry_after)
    return JsonResponse({"error": error.as_dict()}, status=error.status, headers=headers)


def json_object(request) -> dict | None:
    """The request's body as a JSON object; None when it is not one (not JSON, another JSON value,
    nested too deeply): the caller refuses with its own sentence."""
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def safe_redirect(request, target: str, default: str) -> HttpResponseRedirect:
    """A redirect to ``target`` when it is a URL of this site, else to ``default``.

    The target is used as a URL, never looked up as a URL name (``redirect("foo")`` would raise
    NoReverseMatch after the view's change was committed). Called after a change is saved: it
    never raises.
    """
    # A path ("/people/") or a full URL of this host; a bare "foo" is relative to the page posted to.
    local = isinstance(target, str) and (target.startswith("/") or urlsplit(target).scheme in ("http", "https"))
    if local and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                 require_https=request.is_secure()):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(default)


def htmx_only(page):
    """A view that answers htmx with a fragment: opened as a page (a bookmark, a reload, a typed
    URL), a GET redirects to the page that hosts the fragment instead of showing it unstyled.

    ``page(request, **kwargs)`` gives that page's URL from the view's own arguments.
    """

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method == "GET" and not request.htmx:
                return HttpResponseRedirect(page(request, **kwargs))
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


class JsonDepthMiddleware:
    """Answers 400 to a JSON body nested so deep that parsing it exhausts Python's recursion
    limit: allauth's app API and django-ninja parse bodies with ``json.loads`` and would answer
    500 (the HTTP fuzzer's ``[[[[...]]]]``). Only requests that declare a JSON body pay for the
    extra parse."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.content_type == "application/json" and request.method in ("POST", "PUT", "PATCH", "DELETE"):
            try:
                json.loads(request.body or b"null")
            except RecursionError:
                return JsonResponse({"error": {"code": "invalid", "message": _("The JSON body is nested too deeply.")}},
                                    status=400, headers={"X-Error-Code": "invalid"})
            except ValueError:
                pass  # malformed JSON: the view answers it in its own words
        return self.get_response(request)
