"""Personal access tokens: made on the settings page and shown once, stored hashed, scoped,
revoked; and the API's own sign-in rules around them (401, read-only, rate limit, JSON errors)."""

import pytest
from django.urls import reverse

from accounts.models import ApiToken
from accounts.services import tokens

pytestmark = pytest.mark.django_db


def bearer(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_settings_page_makes_a_token_shown_once_and_stored_hashed(alice_client, alice):
    response = alice_client.post(reverse("api_tokens"), {"name": "Deploy bot", "scope": "read", "expires_in_days": "30"},
                                 follow=True)
    assert response.redirect_chain == [(reverse("api_tokens"), 302)]  # a reload makes no second token
    secret = response.context["new_token"]["secret"]
    assert secret.startswith("chat_pat_") and secret in response.content.decode()
    token = ApiToken.objects.get(user=alice)
    assert token.name == "Deploy bot" and token.scope == "read" and token.expires_at is not None
    assert secret not in (token.token_hash, token.prefix) and token.token_hash == tokens.hash_token(secret)
    # Shown once: the list shows the name and the prefix, never the token again.
    page = alice_client.get(reverse("api_tokens")).content.decode()
    assert "Deploy bot" in page and token.prefix in page and secret not in page


def test_a_token_without_a_name_is_refused_with_the_field(alice_client, alice):
    response = alice_client.post(reverse("api_tokens"), {"name": " ", "scope": "write", "expires_in_days": ""})
    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_the_api_knows_the_token_and_refuses_without_one(client, alice):
    secret = tokens.create_api_token(user=alice, name="bot").secret
    me = client.get("/api/v1/me", **bearer(secret))
    assert me.status_code == 200 and me.json()["username"] == alice.username
    for headers in ({}, bearer("chat_pat_wrong"), bearer("not-a-jwt")):
        refused = client.get("/api/v1/me", **headers)
        assert refused.status_code == 401, headers
        assert refused.json()["error"]["code"] == "unauthorized"
        assert refused["WWW-Authenticate"] == "Bearer"


def test_revoked_expired_and_deactivated_tokens_stop_working(client, alice, bob, alice_client):
    live = tokens.create_api_token(user=alice, name="one")
    alice_client.post(reverse("api_token_revoke", args=[live.token.pk]))
    assert client.get("/api/v1/me", **bearer(live.secret)).status_code == 401

    expired = tokens.create_api_token(user=alice, name="two", expires_in_days=1)
    ApiToken.objects.filter(pk=expired.token.pk).update(expires_at="2000-01-01T00:00:00Z")
    assert client.get("/api/v1/me", **bearer(expired.secret)).status_code == 401

    bobs = tokens.create_api_token(user=bob, name="bob's")
    bob.is_active = False
    bob.save()
    assert client.get("/api/v1/me", **bearer(bobs.secret)).status_code == 401


def test_nobody_revokes_another_persons_token(alice, bob):
    bobs = tokens.create_api_token(user=bob, name="bob's")
    with pytest.raises(tokens.NotFound):
        tokens.revoke_api_token(user=alice, token_id=bobs.token.pk)
    assert tokens.authenticate_api_token(bobs.secret) is not None


def test_a_read_only_token_may_read_but_not_write(client, alice):
    secret = tokens.create_api_token(user=alice, name="reader", scope="read").secret
    assert client.get("/api/v1/me", **bearer(secret)).status_code == 200
    refused = client.patch("/api/v1/me", {"about": "hi"}, content_type="application/json", **bearer(secret))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "read_only_token"


def test_a_write_token_changes_the_profile_with_the_sites_rules(client, alice, bob):
    secret = tokens.create_api_token(user=alice, name="writer").secret
    changed = client.patch("/api/v1/me", {"about": "Hello there"}, content_type="application/json", **bearer(secret))
    assert changed.status_code == 200 and changed.json()["about"] == "Hello there"
    taken = client.patch("/api/v1/me", {"username": bob.username.upper()}, content_type="application/json", **bearer(secret))
    assert taken.status_code == 400
    assert taken.json()["error"]["field"] == "username"
    alice.refresh_from_db()
    assert alice.username == "alice" and alice.about == "Hello there"
    wrong_type = client.patch("/api/v1/me", {"about": 5}, content_type="application/json", **bearer(secret))
    assert wrong_type.status_code == 422 and wrong_type.json()["error"]["field"] == "about"


def test_past_the_rate_limit_the_api_answers_429_with_retry_after(client, alice, settings):
    settings.API_RATE_LIMIT = "2/m"
    secret = tokens.create_api_token(user=alice, name="busy").secret
    assert [client.get("/api/v1/me", **bearer(secret)).status_code for _ in range(2)] == [200, 200]
    limited = client.get("/api/v1/me", **bearer(secret))
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    # Another token of someone else is not slowed down by it.
    other = tokens.create_api_token(user=alice, name="other").secret
    assert client.get("/api/v1/me", **bearer(other)).status_code == 200


def test_a_person_has_a_bounded_number_of_tokens(alice, settings):
    settings.API_TOKENS_PER_USER = 2
    tokens.create_api_token(user=alice, name="a")
    tokens.create_api_token(user=alice, name="b")
    with pytest.raises(tokens.InvalidInput):
        tokens.create_api_token(user=alice, name="c")


def test_the_schema_and_the_docs_are_served_without_signing_in(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200 and "/api/v1/me" in schema.json()["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower() and b"/static/ninja/swagger-ui-bundle" in docs.content


def test_cors_is_off_by_default_and_follows_the_allowlist(client, settings):
    origin = {"HTTP_ORIGIN": "https://app.example"}
    assert "Access-Control-Allow-Origin" not in client.get("/api/v1/openapi.json", **origin)
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    allowed = client.get("/api/v1/openapi.json", **origin)
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Access-Control-Allow-Origin" not in client.get("/", **origin)


def test_an_app_signs_in_by_the_headless_api_and_calls_the_api_with_its_jwt(client, alice):
    from conftest import PASSWORD

    login = client.post("/_allauth/app/v1/auth/login", {"username": alice.username, "password": PASSWORD},
                        content_type="application/json")
    assert login.status_code == 200, login.content
    meta = login.json()["meta"]
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {meta['access_token']}").json()["id"] == alice.pk
    refreshed = client.post("/_allauth/app/v1/tokens/refresh", {"refresh_token": meta["refresh_token"]},
                            content_type="application/json")
    assert refreshed.status_code == 200, refreshed.content
    new = refreshed.json()["data"]
    assert new["refresh_token"] != meta["refresh_token"]  # rotated
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {new['access_token']}").status_code == 200
    # The old refresh token was used up.
    again = client.post("/_allauth/app/v1/tokens/refresh", {"refresh_token": meta["refresh_token"]},
                        content_type="application/json")
    assert again.status_code >= 400
