"""Changing the password while signed in."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from conftest import PASSWORD

from .helpers import page_text

pytestmark = pytest.mark.django_db

CHANGE = reverse("account_change_password")
LOGIN = reverse("account_login")
HOME = reverse("home")
NEW = "brand new passphrase 77"


def change(client, old=PASSWORD, new=NEW, again=None, **kwargs):
    return client.post(CHANGE, {"oldpassword": old, "password1": new, "password2": again or new}, **kwargs)


def stored(user) -> tuple[bool, bool]:
    """(old password works, new password works)."""
    user = User.objects.get(pk=user.pk)
    return user.check_password(PASSWORD), user.check_password(NEW)


def test_change_needs_a_signed_in_user(client):
    response = client.get(CHANGE)

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_change_page_asks_for_current_and_new_password(alice_client):
    response = alice_client.get(CHANGE)

    assert response.status_code == 200
    text = page_text(response)
    assert "Current Password" in text
    assert "New Password" in text


def test_change_with_the_right_current_password(alice_client, alice):
    response = change(alice_client, follow=True)

    assert response.redirect_chain[0] == (CHANGE, 302)
    assert "Password successfully changed." in page_text(response)
    assert stored(alice) == (False, True)
    # This browser stays signed in.
    assert alice_client.get(HOME).status_code == 200
    # The new password signs in elsewhere; the old one does not.
    assert Client().post(LOGIN, {"login": "alice", "password": NEW}).status_code == 302
    old = Client().post(LOGIN, {"login": "alice", "password": PASSWORD})
    assert old.status_code == 200
    assert "The username and/or password you specified are not correct." in page_text(old)


def test_change_signs_out_other_sessions(alice_client, alice):
    other = Client()
    other.post(LOGIN, {"login": "alice", "password": PASSWORD})
    assert other.get(HOME).status_code == 200

    change(alice_client)

    assert other.get(HOME).status_code == 302
    assert alice_client.get(HOME).status_code == 200


def test_wrong_current_password_is_refused(alice_client, alice):
    response = change(alice_client, old="not my password 5")

    assert response.status_code == 200
    assert "Please type your current password." in page_text(response)
    assert stored(alice) == (True, False)


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("abc12", "This password is too short. It must contain at least 8 characters."),
        ("qwertyuiop", "This password is too common."),
        ("9081726354", "This password is entirely numeric."),
        ("alicearcher", "The password is too similar to the"),
    ],
)
def test_weak_new_password_is_refused(alice_client, alice, new, message):
    response = change(alice_client, new=new)

    assert response.status_code == 200
    assert message in page_text(response)
    assert stored(alice) == (True, False)
    assert User.objects.get(pk=alice.pk).check_password(new) is False


def test_new_passwords_must_match(alice_client, alice):
    response = change(alice_client, again=NEW + "x")

    assert response.status_code == 200
    assert "You must type the same password each time." in page_text(response)
    assert stored(alice) == (True, False)


def test_guessing_the_current_password_is_rate_limited(alice_client, alice):
    # Someone at an unlocked computer cannot try passwords for ever.
    for _ in range(5):
        assert change(alice_client, old="guess 1234 abc").status_code == 200

    response = change(alice_client)

    assert response.status_code == 429
    assert stored(alice) == (True, False)
