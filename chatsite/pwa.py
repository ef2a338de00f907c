"""The installable web app (issue 17): the manifest, the service worker and the offline page.

All three are public and hold nothing about the person: the service worker caches only the
offline page and the few static files it shows, fetched without cookies, so a shared or lost device
keeps no private data in its cache. Pushes reach the worker as JSON (accounts.push builds them):
``{"type": "show", title, body, tag, url, timestamp}`` shows or replaces the notification of that
tag, ``{"type": "close", tag}`` closes it (a chat read on another device).
"""

import hashlib
import json

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

# The page background of static/css/app.css. The manifest has one theme colour; base.html's
# <meta name="theme-color"> tags give light and dark.
LIGHT_BACKGROUND = "#f4f6fb"


def offline_assets() -> list[str]:
    """What the offline page needs, precached by the service worker (hashed static URLs)."""
    return [reverse("offline"), static("css/app.css"), static("img/favicon.svg")]


@login_not_required
@require_safe
@cache_control(max_age=3600, public=True)
def manifest(request):
    name = settings.SITE_NAME
    body = {
        "id": "/",
        "name": name,
        "short_name": name[:12],
        "description": f"{name}: messages, calls and files with the people you choose.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": LIGHT_BACKGROUND,
        "theme_color": LIGHT_BACKGROUND,
        "icons": [
            {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": static("img/icon-maskable-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "maskable"},
            {"src": static("img/favicon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    return JsonResponse(body, content_type="application/manifest+json")


@login_not_required
@require_safe
@cache_control(no_cache=True)
def service_worker(request):
    """Served from the root so that its scope is the whole site. no-cache: the browser checks for a
    new worker on every navigation instead of keeping an old one for up to a day."""
    precache = offline_assets()
    version = hashlib.sha256(json.dumps(precache).encode()).hexdigest()[:12]
    response = render(request, "pwa/sw.js", {
        "precache_json": json.dumps(precache),
        "offline_url_json": json.dumps(reverse("offline")),
        "icon_json": json.dumps(static("img/icon-192.png")),
        "version_json": json.dumps(version),
    }, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


@login_not_required
@require_safe
@cache_control(max_age=0, public=True)
def offline(request):
    # A page of its own, not base.html: it is cached on the device, so it carries no user, no
    # CSRF token and no script.
    return render(request, "pwa/offline.html", {"site_name": settings.SITE_NAME})

