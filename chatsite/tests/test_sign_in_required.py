"""Sign-in is required by default (LoginRequiredMiddleware): a URL is reachable signed out only
when it is on the list below, which says why."""

import importlib
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.urls import URLResolver, reverse

from .urlconf import all_routes, sample_values

# Reachable signed out, on purpose. The key is the URL name (or the route of an unnamed pattern).
PUBLIC = {
    # allauth: the ways in, and the pages a signed-out person lands on during them.
    "account_login": "sign-in",
    "account_logout": "allauth answers a signed-out visit itself",
    "account_inactive": "shown to an inactive account that tried to sign in",
    "account_signup": "sign-up",
    "account_email_verification_sent": "the code-entry page after sign-up",
    "account_reset_password": "password reset",
    "account_confirm_password_reset_code": "password reset by code",
    "account_complete_password_reset": "password reset by code",
    "account_password_reset_completed": "password reset",
    "account_request_login_code": "sign-in by code",
    "account_confirm_login_code": "sign-in by code",
    "mfa_authenticate": "the second step of a sign-in with two-factor authentication",
    "mfa_login_webauthn": "sign-in with a passkey",
    "socialaccount_login_cancelled": "a third-party sign-in was cancelled",
    "socialaccount_login_error": "a third-party sign-in failed (chatsite/urls.py marks it)",
    "socialaccount_signup": "sign-up through a third-party account",
    # Django's admin has its own sign-in page.
    "admin:login": "the admin's sign-in",
    # Ours.
    "digest_unsubscribe": "the link in a digest email works without signing in",
    "healthz": "the liveness probe of a load balancer or orchestrator",
    "readyz": "the readiness probe of a load balancer or orchestrator",
    "manifest": "the web app manifest: a browser fetches it without cookies",
    "service_worker": "the service worker script, registered from the sign-in page too",
    "offline": "the offline page the service worker caches without cookies",
    "incoming_hook": "a chat's incoming webhook: a script posts with the secret in its URL (messaging/hook_views.py)",
}

# Whole APIs that sign their callers in themselves and answer in JSON (401, never a redirect).
PUBLIC_FAMILIES = {
    "headless:": "the app sign-in API (allauth headless): its own answers to signed-out calls",
    "api-v1:": "the HTTP API: bearer tokens, 401 in JSON (chatsite/api.py marks it)",
}


def _signed_out_answers(client, route):
    values = sample_values(route)
    assert values is not None, f"{route.key}: no sample URL resolves to it"
    return client.get(route.url(**values))


@pytest.mark.django_db
def test_every_url_signed_out_is_public_by_the_list_or_sends_to_sign_in(client):
    login_path = reverse(settings.LOGIN_URL)
    wrong = []
    for route in all_routes():
        if route.key.startswith(tuple(PUBLIC_FAMILIES)):
            response = _signed_out_answers(client, route)
            if not route.public or urlsplit(response.get("Location", "")).path == login_path:
                wrong.append(f"{route.key}: an API route must answer signed-out callers itself")
            continue
        if route.key in PUBLIC:
            if not route.public:
                wrong.append(f"{route.key}: listed as public but not marked @login_not_required")
            continue
        response = _signed_out_answers(client, route)
        location = response.get("Location", "")
        if response.status_code != 302 or urlsplit(location).path not in (login_path, reverse("admin:login")):
            wrong.append(f"{route.key} ({route.route}): {response.status_code} {location}")
        elif urlsplit(location).path == login_path:
            assert parse_qs(urlsplit(location).query).get("next"), f"{route.key}: sign-in forgets where to return"
    assert not wrong, "signed out, these neither send to sign-in nor are listed as public:\n" + "\n".join(wrong)


@pytest.mark.django_db
def test_public_pages_answer_signed_out(client):
    """Each listed page is reachable: no sign-in loop (a page refusing signed-out people would
    redirect to the sign-in page, which would then be marked public but unusable)."""
    routes = {route.key: route for route in all_routes()}
    assert set(PUBLIC) <= set(routes), f"listed but gone: {sorted(set(PUBLIC) - set(routes))}"
    login_path = reverse(settings.LOGIN_URL)
    for key in ("account_login", "account_signup", "account_reset_password", "account_request_login_code",
                "socialaccount_login_error", "socialaccount_login_cancelled"):
        response = _signed_out_answers(client, routes[key])
        assert response.status_code < 500 and urlsplit(response.get("Location", "")).path != login_path, key


def test_the_middleware_is_on():
    assert "django.contrib.auth.middleware.LoginRequiredMiddleware" in settings.MIDDLEWARE


@pytest.mark.parametrize("provider", ["google", "facebook", "github"])
def test_third_party_sign_in_callbacks_stay_public(provider):
    """Providers are installed only when their keys are set (not in the tests): their sign-in and
    callback views must let signed-out people in, or nobody could sign in with them."""
    patterns = importlib.import_module(f"allauth.socialaccount.providers.{provider}.urls").urlpatterns

    def callbacks(entries):
        for entry in entries:
            yield from callbacks(entry.url_patterns) if isinstance(entry, URLResolver) else [entry]

    found = list(callbacks(patterns))
    assert found and all(getattr(p.callback, "login_required", True) is False for p in found)
