"""Views of the site itself (not of an app): the health probes."""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import health


@login_not_required
@never_cache
@require_safe
async def healthz(request):
    """Liveness: the process answers. Touches no dependency."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_safe
async def readyz(request):
    """Readiness: every dependency this process needs, each named with its status and latency."""
    report = await health.readiness()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
