"""Helpers shared by the apps' views."""

from functools import wraps

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from .errors import ServiceError


def service_errors(view):
    """Sign-in required; a ServiceError becomes the user's message: plain text for htmx (the page
    shows it in a toast), a flash message and a redirect back for a plain form post, or the JSON
    error shape for a client that asks for JSON only. Each answer but the redirect carries the
    error's code (the ``X-Error-Code`` header, and ``code`` in the JSON)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ServiceError as error:
            if request.accepts("application/json") and not request.accepts("text/html"):
                return JsonResponse({"error": error.as_dict()}, status=error.status, headers={"X-Error-Code": error.code})
            if request.htmx or request.method == "GET":
                return HttpResponse(error.message, status=error.status, content_type="text/plain; charset=utf-8",
                                    headers={"X-Error-Code": error.code})
            flash.error(request, error.message)
            return redirect(_safe_back(request))

    return login_required(wrapper)


def _safe_back(request) -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

    referer = request.headers.get("Referer", "")
    if url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return referer
    return reverse("home")
