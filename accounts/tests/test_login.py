"""Signing in with a password (username or email), signing out, and the failed-login limit."""

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD, make_user

from .helpers import code_from_mail, page_text

pytestmark = pytest.mark.django_db

LOGIN = reverse("account_login")
HOME = reverse("home")
USERNAME_MISMATCH = "The username and/or password you specified are not correct."
EMAIL_MISMATCH = "The email address and/or password you specified are not correct."
TOO_MANY = "Too many failed login attempts. Try again later."


def login(client, login, password=PASSWORD, **extra):
    return client.post(LOGIN, {"login": login, "password": password, **extra})


def assert_locked(response):
    # allauth answers the locked-out login form itself (not a bare 429) with its message.
    assert response.status_code == 200
    assert TOO_MANY in page_text(response)


def signed_in_user_id(client):
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


def test_login_page_offers_password_code_and_signup(client):
    response = client.get(LOGIN)

    assert response.status_code == 200
    text = page_text(response)
    assert "Username or email" in response.content.decode()
    assert "Password" in text
    assert reverse("account_request_login_code") in response.content.decode()
    assert reverse("account_signup") in response.content.decode()
    assert reverse("account_reset_password") in response.content.decode()


def test_pages_need_a_signed_in_user(client):
    response = client.get(HOME)

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={HOME}"


@pytest.mark.parametrize("identifier", ["alice", "ALICE", "alice@example.com", "Alice@Example.COM"])
def test_login_with_username_or_email_in_any_case(client, alice, identifier):
    response = login(client, identifier)

    assert response.status_code == 302
    assert response["Location"] == HOME
    assert signed_in_user_id(client) == alice.pk
    home = client.get(HOME)
    assert home.status_code == 200
    assert "Welcome, Alice" in page_text(home)


def test_login_goes_back_to_the_page_asked_for(client, alice):
    target = reverse("profile_edit")

    response = client.post(f"{LOGIN}?next={target}", {"login": "alice", "password": PASSWORD, "next": target})

    assert response.status_code == 302
    assert response["Location"] == target


def test_login_never_redirects_to_another_site(client, alice):
    evil = "https://evil.example.net/phish"

    response = client.post(f"{LOGIN}?next={evil}", {"login": "alice", "password": PASSWORD, "next": evil})

    assert response.status_code == 302
    assert response["Location"] == HOME
    assert signed_in_user_id(client) == alice.pk


@pytest.mark.parametrize(
    ("identifier", "message"),
    [("alice", USERNAME_MISMATCH), ("alice@example.com", EMAIL_MISMATCH)],
)
def test_wrong_password_is_refused(client, alice, identifier, message):
    response = login(client, identifier, "not the password 1")

    assert response.status_code == 200
    assert message in page_text(response)
    assert signed_in_user_id(client) is None
    assert client.get(HOME).status_code == 302


def test_unknown_user_gets_the_same_message_as_a_wrong_password(client, alice):
    response = login(client, "nobody-here")

    assert response.status_code == 200
    assert USERNAME_MISMATCH in page_text(response)
    assert signed_in_user_id(client) is None


def test_unverified_user_is_sent_to_verification_not_signed_in(client, mailoutbox):
    user = make_user("vera", verified=False)

    response = login(client, "vera")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert signed_in_user_id(client) is None
    assert client.get(HOME).status_code == 302
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["vera@example.com"]
    page = client.get(response["Location"])
    assert "Your code is on its way to vera@example.com" in page_text(page)

    # With the code from the mail, the address is verified and the person is in.
    done = client.post(response["Location"], {"code": code_from_mail(mailoutbox[0])})
    assert done.status_code == 302
    assert done["Location"] == HOME
    assert signed_in_user_id(client) == user.pk
    assert EmailAddress.objects.get(user=user).verified is True


def test_inactive_user_cannot_sign_in(client):
    user = make_user("ghost")
    user.is_active = False
    user.save()

    response = login(client, "ghost")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_inactive")
    assert "This account is inactive." in page_text(client.get(response["Location"]))
    assert signed_in_user_id(client) is None
    assert client.get(HOME).status_code == 302


def test_logout_ends_the_session(client, alice):
    login(client, "alice")
    assert client.get(HOME).status_code == 200

    response = client.post(reverse("account_logout"))

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert signed_in_user_id(client) is None
    assert client.get(HOME).status_code == 302


def test_logout_needs_a_post(client, alice):
    # A GET (a link or an <img> on another site) must not sign anybody out.
    login(client, "alice")

    response = client.get(reverse("account_logout"))

    assert response.status_code == 200
    assert signed_in_user_id(client) == alice.pk


def test_five_failed_logins_lock_the_account_even_for_the_right_password(client, alice, bob):
    for _ in range(5):
        response = login(client, "alice", "guess again 123")
        assert USERNAME_MISMATCH in page_text(response)

    blocked = login(client, "alice", "guess again 123")
    assert_locked(blocked)

    # The real owner, from another browser, is refused too while the lock lasts.
    owner = Client()
    right = login(owner, "alice")
    assert_locked(right)
    assert signed_in_user_id(owner) is None
    assert owner.get(HOME).status_code == 302

    # The lock is per account: someone else signs in as usual.
    assert login(Client(), "bob").status_code == 302


def test_failed_logins_are_counted_per_account_not_per_spelling(client, alice):
    # Switching between username case variants does not reset the counter.
    for login_name in ("alice", "ALICE", "Alice", "aLice", "alicE"):
        assert USERNAME_MISMATCH in page_text(login(client, login_name, "guess again 123"))

    response = login(Client(), "alice")

    assert signed_in_user_id(client) is None
    assert_locked(response)


def test_ten_failed_logins_from_one_address_block_that_address(client, alice):
    users = [make_user(f"member{i}") for i in range(10)]
    for user in users:
        assert USERNAME_MISMATCH in page_text(login(client, user.username, "guess again 123"))

    # The next attempt from the same address is refused, whatever the account.
    response = login(client, "alice")

    assert signed_in_user_id(client) is None
    assert_locked(response)
    # Somebody at another address is not affected.
    assert login(Client(REMOTE_ADDR="198.51.100.7"), "alice").status_code == 302


def test_a_successful_login_does_not_reset_the_failed_count(client, alice):
    # Otherwise an attacker who knows one password could interleave good logins in a brute force.
    for _ in range(4):
        login(client, "alice", "guess again 123")
    assert login(Client(), "alice").status_code == 302

    login(client, "alice", "guess again 123")
    response = login(Client(), "alice")

    assert_locked(response)


def test_behind_trusted_proxies_the_limit_is_per_client(settings, alice):
    # In production the site sits behind a load balancer: every request comes from its address.
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    attacker = Client(**proxy, HTTP_X_FORWARDED_FOR="203.0.113.9")
    for i in range(10):
        make_user(f"target{i}")
        login(attacker, f"target{i}", "guess again 123")
    assert TOO_MANY in page_text(login(attacker, "alice"))

    honest = Client(**proxy, HTTP_X_FORWARDED_FOR="198.51.100.20")
    assert login(honest, "alice").status_code == 302
