"""Changing the email address: the new one replaces the old only once its code is entered."""

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from accounts.models import User
from conftest import PASSWORD

from .helpers import code_from_mail, page_text, travel, wrong_code

pytestmark = pytest.mark.django_db

EMAIL = reverse("account_email")
CONFIRM = reverse("account_email_verification_sent")
LOGIN = reverse("account_login")
HOME = reverse("home")
NEW = "alice.new@example.com"
REAUTH = reverse("account_reauthenticate")
REAUTH_CLOCK = "allauth.account.internal.flows.reauthentication"


@pytest.fixture
def signed_in(client, alice):
    assert client.post(LOGIN, {"login": "alice", "password": PASSWORD}).status_code == 302
    return client


@pytest.fixture
def confirmed(signed_in):
    """Signed in and password given again just now, as an email change requires."""
    response = signed_in.post(REAUTH, {"password": PASSWORD})
    assert response.status_code == 302
    return signed_in


def addresses(user) -> list[tuple[str, bool, bool]]:
    return sorted(EmailAddress.objects.filter(user=user).values_list("email", "primary", "verified"))


def ask_for(client, email):
    return client.post(EMAIL, {"email": email, "action_add": ""})


def test_email_page_shows_the_current_address(signed_in):
    response = signed_in.get(EMAIL)

    assert response.status_code == 200
    assert 'value="alice@example.com"' in response.content.decode()
    assert "Change to" in page_text(response)


def test_email_page_needs_a_signed_in_user(client):
    response = client.get(EMAIL)

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_change_takes_effect_only_after_the_code(confirmed, alice, mailoutbox):
    response = ask_for(confirmed, NEW)

    assert response.status_code == 302
    assert response["Location"] == CONFIRM
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [NEW]
    # Nothing changes until the new address is proven.
    assert addresses(alice) == [("alice@example.com", True, True)]
    assert User.objects.get(pk=alice.pk).email == "alice@example.com"
    assert f"Your code is on its way to {NEW}" in page_text(confirmed.get(CONFIRM))

    done = confirmed.post(CONFIRM, {"code": code_from_mail(mailoutbox[0])}, follow=True)

    assert done.status_code == 200
    assert f"You have confirmed {NEW}." in page_text(done)
    assert addresses(alice) == [(NEW, True, True)]
    assert User.objects.get(pk=alice.pk).email == NEW
    # The new address signs in; the old one no longer does.
    assert Client().post(LOGIN, {"login": NEW, "password": PASSWORD}).status_code == 302
    old = Client().post(LOGIN, {"login": "alice@example.com", "password": PASSWORD})
    assert old.status_code == 200
    assert "The email address and/or password you specified are not correct." in page_text(old)


def test_wrong_code_keeps_the_old_address(confirmed, alice, mailoutbox):
    ask_for(confirmed, NEW)
    code = code_from_mail(mailoutbox[0])

    response = confirmed.post(CONFIRM, {"code": wrong_code(code)})

    assert response.status_code == 200
    assert "Incorrect code." in page_text(response)
    assert addresses(alice) == [("alice@example.com", True, True)]
    assert User.objects.get(pk=alice.pk).email == "alice@example.com"


def test_three_wrong_codes_cancel_the_change(confirmed, alice, mailoutbox):
    ask_for(confirmed, NEW)
    code = code_from_mail(mailoutbox[0])

    for _ in range(3):
        confirmed.post(CONFIRM, {"code": wrong_code(code)})
    late = confirmed.post(CONFIRM, {"code": code})

    assert late.status_code == 302
    assert late["Location"] == EMAIL
    assert addresses(alice) == [("alice@example.com", True, True)]
    assert User.objects.get(pk=alice.pk).email == "alice@example.com"
    # Still signed in: a mistyped code is no reason to throw the person out.
    assert confirmed.get(HOME).status_code == 200


def test_expired_code_keeps_the_old_address(confirmed, alice, mailoutbox):
    ask_for(confirmed, NEW)
    code = code_from_mail(mailoutbox[0])

    with travel("allauth.account.internal.flows.code_verification", 15 * 60 + 5):
        response = confirmed.post(CONFIRM, {"code": code})

    assert response.status_code == 302
    assert addresses(alice) == [("alice@example.com", True, True)]
    assert User.objects.get(pk=alice.pk).email == "alice@example.com"


def test_address_of_another_account_cannot_be_taken(confirmed, alice, bob, mailoutbox):
    # allauth does not reveal that the address is taken; the change simply cannot complete.
    ask_for(confirmed, "BOB@example.com")
    assert len(mailoutbox) == 1
    code = code_from_mail(mailoutbox[0])  # even if Alice somehow read Bob's mail

    response = confirmed.post(CONFIRM, {"code": code})

    assert response.status_code == 200
    assert "A user is already registered with this email address." in page_text(response)
    assert addresses(alice) == [("alice@example.com", True, True)]
    assert addresses(bob) == [("bob@example.com", True, True)]
    assert User.objects.get(pk=alice.pk).email == "alice@example.com"


def test_same_address_is_refused(confirmed, alice, mailoutbox):
    response = ask_for(confirmed, "Alice@Example.com")

    assert response.status_code == 200
    assert "This email address is already associated with this account." in page_text(response)
    assert mailoutbox == []


def test_invalid_address_is_refused(confirmed, alice, mailoutbox):
    response = ask_for(confirmed, "alice at example")

    assert response.status_code == 200
    assert "Enter a valid email address." in page_text(response)
    assert mailoutbox == []
    assert addresses(alice) == [("alice@example.com", True, True)]


def test_change_asks_for_the_password_first_then_goes_on(signed_in, alice, mailoutbox):
    response = ask_for(signed_in, NEW)

    assert response.status_code == 302
    assert response["Location"].startswith(REAUTH)
    assert mailoutbox == []
    assert addresses(alice) == [("alice@example.com", True, True)]

    wrong = signed_in.post(response["Location"], {"password": "not it 12345"})
    assert wrong.status_code == 200
    assert "Incorrect password." in page_text(wrong)
    assert mailoutbox == []

    again = signed_in.post(response["Location"], {"password": PASSWORD})
    # The suspended request goes on once the password was given.
    assert again.status_code == 302
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [NEW]
    assert addresses(alice) == [("alice@example.com", True, True)]


def test_the_password_is_asked_again_after_five_minutes(confirmed, alice, mailoutbox):
    with travel(REAUTH_CLOCK, 4 * 60):
        assert ask_for(confirmed, NEW)["Location"] == CONFIRM
    assert len(mailoutbox) == 1

    with travel(REAUTH_CLOCK, 6 * 60):
        response = ask_for(confirmed, "alice.other@example.com")

    assert response["Location"].startswith(REAUTH)
    assert len(mailoutbox) == 1
