"""Personal access tokens over the API: an app signed in with its JWT makes, lists and revokes
them (the settings page's rules); a token cannot make tokens."""

import pytest

from accounts.models import ApiToken
from conftest import PASSWORD, ApiCaller

pytestmark = pytest.mark.django_db


def jwt_for(client, user) -> str:
    login = client.post("/_allauth/app/v1/auth/login", {"username": user.username, "password": PASSWORD},
                        content_type="application/json")
    assert login.status_code == 200, login.content
    return login.json()["meta"]["access_token"]


def test_an_app_makes_a_token_shown_once_uses_and_revokes_it(client, alice):
    app = ApiCaller(jwt_for(client, alice))
    made = app.post("/tokens", {"name": "CI bot", "scope": "read", "expires_in_days": 30})
    assert made.status_code == 201, made.content
    secret = made.json()["token"]
    assert secret.startswith("chat_pat_") and made.json()["scope"] == "read" and made.json()["expires_at"]
    listed = app.get("/tokens").json()
    assert [t["name"] for t in listed] == ["CI bot"] and "token" not in listed[0]
    assert ApiCaller(secret).get("/me").json()["id"] == alice.pk
    assert app.delete(f"/tokens/{made.json()['id']}").status_code == 204
    assert ApiCaller(secret).get("/me").status_code == 401


def test_a_token_cannot_make_tokens(api_as, alice):
    refused = api_as(alice).post("/tokens", {"name": "copy"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert ApiToken.objects.filter(user=alice).count() == 1  # the caller's own


def test_the_pages_rules_hold(client, alice, bob, api_as):
    app = ApiCaller(jwt_for(client, alice))
    blank = app.post("/tokens", {"name": "  "})
    assert blank.status_code == 400 and blank.json()["error"]["field"] == "name"
    odd = app.post("/tokens", {"name": "x", "expires_in_days": 7})
    assert odd.status_code == 422 and odd.json()["error"]["field"] == "expires_in_days"
    api_as(bob)  # makes Bob a token
    bobs = ApiToken.objects.get(user=bob)
    assert app.delete(f"/tokens/{bobs.pk}").status_code == 404
    assert ApiToken.objects.get(pk=bobs.pk).revoked_at is None
