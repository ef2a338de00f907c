"""The installable app (manifest, service worker, offline page) and the push switch's endpoints."""

import json

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.staticfiles import finders
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from chatsite.errors import InvalidInput
from chatsite.http import service_errors

from . import push

_ICONS = (("img/icons/icon-192.png", "192x192", "any"), ("img/icons/icon-512.png", "512x512", "any"),
          ("img/icons/icon-maskable-512.png", "512x512", "maskable"))


@login_not_required
@require_GET
def manifest(request):
    """The web app manifest: what an installed app is called, looks like and opens."""
    data = {
        "name": settings.SITE_NAME, "short_name": settings.SITE_NAME[:12], "id": "/", "start_url": "/",
        "scope": "/", "display": "standalone", "theme_color": settings.APP_THEME_COLOR,
        "background_color": settings.APP_THEME_COLOR, "description": _("Chats, groups and calls."),
        "icons": [{"src": static(path), "sizes": sizes, "type": "image/png", "purpose": purpose}
                  for path, sizes, purpose in _ICONS],
    }
    return HttpResponse(json.dumps(data), content_type="application/manifest+json",
                        headers={"Cache-Control": "no-cache"})


@login_not_required
@require_GET
@never_cache
def service_worker(request):
    """/sw.js from the site's root, so its scope is the whole site. Never cached by the browser's
    HTTP cache: a new version reaches every device on its next visit."""
    path = finders.find("js/sw.js")
    with open(path, encoding="utf-8") as source:
        body = source.read()
    return HttpResponse(body, content_type="text/javascript; charset=utf-8",
                        headers={"Service-Worker-Allowed": "/"})


@login_not_required
@require_GET
def offline(request):
    """What the service worker shows when a page cannot load: a fixed page, no one's data."""
    return render(request, "offline.html")


def _json_body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise InvalidInput(_("The browser sent a push subscription that is not JSON."))
    return body


@require_POST
@service_errors
def subscription_add(request):
    body = _json_body(request)
    keys = body.get("keys") if isinstance(body.get("keys"), dict) else {}
    push.subscribe(user=request.user, endpoint=body.get("endpoint"), p256dh=keys.get("p256dh"), auth=keys.get("auth"),
                   user_agent=push.device_label(request.headers.get("User-Agent", "")))
    return JsonResponse({"ok": True}, status=201)


@require_POST
@service_errors
def subscription_remove(request):
    body = _json_body(request)
    return JsonResponse({"ok": push.unsubscribe(user=request.user, endpoint=body.get("endpoint"))})
