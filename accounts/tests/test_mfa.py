"""Two-factor authentication: an authenticator app (TOTP) and recovery codes."""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD

from .helpers import code_from_mail, freeze, page_text, totp_now

pytestmark = pytest.mark.django_db

LOGIN = reverse("account_login")
HOME = reverse("home")
REAUTH = reverse("account_reauthenticate")
ACTIVATE = reverse("mfa_activate_totp")
DEACTIVATE = reverse("mfa_deactivate_totp")
MFA_INDEX = reverse("mfa_index")
RECOVERY = reverse("mfa_view_recovery_codes")
AUTHENTICATE = reverse("mfa_authenticate")
TOTP_CLOCK = "allauth.mfa.totp.internal.auth"
# A fixed instant in the middle of a 30 s TOTP step, so a test never straddles two steps.
NOW = (int(time.time()) // 30) * 30 + 15


def signed_in_user_id(client):
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


def secret_on_page(response) -> str:
    match = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', response.content.decode())
    assert match, "the activation page shows the secret to type into an app"
    return match.group(1)


def recovery_codes_on_page(response) -> list[str]:
    match = re.search(r'<textarea[^>]*id="recovery_codes"[^>]*>(.*?)</textarea>', response.content.decode(), re.S)
    assert match, "the recovery codes page lists the codes"
    return match.group(1).split()


def give_password_again(client):
    # Two-factor settings always ask for the password again (a sign-in alone is not enough).
    response = client.get(ACTIVATE)
    assert response.status_code == 302
    assert response["Location"].startswith(REAUTH)
    assert client.post(response["Location"], {"password": PASSWORD}).status_code == 302


def activate_totp(client) -> str:
    """Signed-in ``client`` turns on TOTP the way a person does; returns the secret."""
    give_password_again(client)
    response = client.get(ACTIVATE)
    assert response.status_code == 200
    secret = secret_on_page(response)
    with freeze(TOTP_CLOCK, NOW):
        done = client.post(ACTIVATE, {"code": totp_now(secret, NOW)})
    assert done.status_code == 302, page_text(done)
    assert done["Location"] == RECOVERY
    return secret


@pytest.fixture
def signed_in(client, alice):
    assert client.post(LOGIN, {"login": "alice", "password": PASSWORD}).status_code == 302
    return client


@pytest.fixture
def totp_user(signed_in, alice):
    """Alice with TOTP on, signed out again; yields her secret."""
    secret = activate_totp(signed_in)
    signed_in.post(reverse("account_logout"))
    return secret


def test_activation_needs_the_password_again(signed_in, alice):
    response = signed_in.get(ACTIVATE)

    assert response.status_code == 302
    assert response["Location"].startswith(REAUTH)
    wrong = signed_in.post(response["Location"], {"password": "not it 12345"})
    assert "Incorrect password." in page_text(wrong)
    assert signed_in.post(response["Location"], {"password": PASSWORD}).status_code == 302
    assert signed_in.get(ACTIVATE).status_code == 200


def test_activate_totp_with_a_code_from_the_app(signed_in, alice):
    secret = activate_totp(signed_in)

    totp = Authenticator.objects.get(user=alice, type=Authenticator.Type.TOTP)
    assert totp.data["secret"]  # stored (allauth may encrypt it)
    # Recovery codes are made at the same time and shown to the person.
    assert Authenticator.objects.filter(user=alice, type=Authenticator.Type.RECOVERY_CODES).count() == 1
    page = signed_in.get(RECOVERY)
    assert page.status_code == 200
    codes = recovery_codes_on_page(page)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert all(re.fullmatch(r"[0-9a-f]{8}", code) for code in codes)
    assert "There are 10 out of 10 recovery codes available." in page_text(page)
    assert secret not in page_text(signed_in.get(MFA_INDEX))
    assert "Authenticator App" in page_text(signed_in.get(MFA_INDEX))


def test_wrong_code_does_not_activate(signed_in, alice):
    give_password_again(signed_in)
    secret = secret_on_page(signed_in.get(ACTIVATE))
    wrong = totp_now(secret, NOW - 120)  # a code from another time step

    with freeze(TOTP_CLOCK, NOW):
        refused = signed_in.post(ACTIVATE, {"code": wrong})

    assert refused.status_code == 200
    assert "Incorrect code." in page_text(refused)
    assert not Authenticator.objects.filter(user=alice).exists()


def test_login_asks_for_the_app_code_after_the_password(client, alice, totp_user):
    response = client.post(LOGIN, {"login": "alice", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == AUTHENTICATE
    # The password alone does not sign in.
    assert signed_in_user_id(client) is None
    assert client.get(HOME).status_code == 302
    page = client.get(AUTHENTICATE)
    assert "Two-Factor Authentication" in page_text(page)

    with freeze(TOTP_CLOCK, NOW + 60):
        done = client.post(AUTHENTICATE, {"code": totp_now(totp_user, NOW + 60)})

    assert done.status_code == 302
    assert done["Location"] == HOME
    assert signed_in_user_id(client) == alice.pk
    assert client.get(HOME).status_code == 200


def test_wrong_app_code_is_refused(client, alice, totp_user):
    client.post(LOGIN, {"login": "alice", "password": PASSWORD})

    with freeze(TOTP_CLOCK, NOW + 60):
        response = client.post(AUTHENTICATE, {"code": totp_now(totp_user, NOW - 600)})

    assert response.status_code == 200
    assert "Incorrect code." in page_text(response)
    assert signed_in_user_id(client) is None
    assert client.get(HOME).status_code == 302


def test_an_app_code_works_only_once(client, alice, totp_user):
    # A code seen over someone's shoulder cannot be replayed in the same 30 seconds.
    code = totp_now(totp_user, NOW + 60)
    client.post(LOGIN, {"login": "alice", "password": PASSWORD})
    with freeze(TOTP_CLOCK, NOW + 60):
        assert client.post(AUTHENTICATE, {"code": code}).status_code == 302

    other = Client()
    other.post(LOGIN, {"login": "alice", "password": PASSWORD})
    with freeze(TOTP_CLOCK, NOW + 61):
        replay = other.post(AUTHENTICATE, {"code": code})

    assert "Incorrect code." in page_text(replay)
    assert signed_in_user_id(other) is None


def test_guessing_app_codes_is_rate_limited(client, alice, totp_user):
    client.post(LOGIN, {"login": "alice", "password": PASSWORD})
    with freeze(TOTP_CLOCK, NOW + 60):
        for guess in ("000000", "111111", "222222", "333333", "444444"):
            if guess != totp_now(totp_user, NOW + 60):
                assert "Incorrect code." in page_text(client.post(AUTHENTICATE, {"code": guess}))
        blocked = client.post(AUTHENTICATE, {"code": totp_now(totp_user, NOW + 60)})

    assert "Too many failed login attempts. Try again later." in page_text(blocked)
    assert signed_in_user_id(client) is None


def test_a_recovery_code_signs_in_once(signed_in, alice):
    activate_totp(signed_in)
    codes = recovery_codes_on_page(signed_in.get(RECOVERY))
    signed_in.post(reverse("account_logout"))

    first = Client()
    first.post(LOGIN, {"login": "alice", "password": PASSWORD})
    assert first.post(AUTHENTICATE, {"code": codes[0]}).status_code == 302
    assert signed_in_user_id(first) == alice.pk

    second = Client()
    second.post(LOGIN, {"login": "alice", "password": PASSWORD})
    reused = second.post(AUTHENTICATE, {"code": codes[0]})
    assert "Incorrect code." in page_text(reused)
    assert signed_in_user_id(second) is None
    # The used code is gone from the list; the others still work.
    view = first.get(RECOVERY)  # showing the codes asks for the password again
    assert first.post(view["Location"], {"password": PASSWORD}).status_code == 302
    assert "There are 9 out of 10 recovery codes available." in page_text(first.get(RECOVERY))
    assert second.post(AUTHENTICATE, {"code": codes[1]}).status_code == 302


def test_sign_in_by_email_code_still_needs_the_app(client, alice, totp_user, mailoutbox):
    client.post(reverse("account_request_login_code"), {"email": "alice@example.com"})
    response = client.post(reverse("account_confirm_login_code"), {"code": code_from_mail(mailoutbox[-1])})

    assert response.status_code == 302
    assert response["Location"] == AUTHENTICATE
    assert signed_in_user_id(client) is None
    with freeze(TOTP_CLOCK, NOW + 90):
        assert client.post(AUTHENTICATE, {"code": totp_now(totp_user, NOW + 90)}).status_code == 302
    assert signed_in_user_id(client) == alice.pk


def test_deactivating_totp_removes_the_second_step(signed_in, alice):
    activate_totp(signed_in)  # the password was given moments ago: no need to ask again
    assert signed_in.get(DEACTIVATE).status_code == 200

    response = signed_in.post(DEACTIVATE)

    assert response.status_code == 302
    assert response["Location"] == MFA_INDEX
    assert not Authenticator.objects.filter(user=alice).exists()
    signed_in.post(reverse("account_logout"))
    again = Client()
    assert again.post(LOGIN, {"login": "alice", "password": PASSWORD})["Location"] == HOME
