"""Forgotten password: a code by email, then a new password."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from conftest import PASSWORD

from .helpers import CODE_RE, code_from_mail, page_text, travel, wrong_code

pytestmark = pytest.mark.django_db

RESET = reverse("account_reset_password")
CONFIRM = reverse("account_confirm_password_reset_code")
COMPLETE = reverse("account_complete_password_reset")
DONE = reverse("account_password_reset_completed")
LOGIN = reverse("account_login")
HOME = reverse("home")
NEW = "brand new passphrase 77"
CODE_CLOCK = "allauth.account.internal.flows.code_verification"


def password_of(user) -> tuple[bool, bool]:
    """(old password works, new password works) as stored now."""
    user = User.objects.get(pk=user.pk)
    return user.check_password(PASSWORD), user.check_password(NEW)


def start_reset(client, email, mailoutbox):
    response = client.post(RESET, {"email": email})
    assert response.status_code == 302
    assert response["Location"] == CONFIRM
    return code_from_mail(mailoutbox[-1])


def test_reset_by_code_sets_a_new_password(client, alice, mailoutbox):
    code = start_reset(client, "alice@example.com", mailoutbox)
    assert mailoutbox[0].to == ["alice@example.com"]
    assert "Your password reset code is listed below" in mailoutbox[0].body
    assert "alice@example.com" in page_text(client.get(CONFIRM))

    confirmed = client.post(CONFIRM, {"code": code})
    assert confirmed.status_code == 302
    assert confirmed["Location"] == COMPLETE
    assert password_of(alice) == (True, False)  # nothing changes before the new password is sent

    done = client.post(COMPLETE, {"password1": NEW, "password2": NEW})

    assert done.status_code == 302
    assert done["Location"] == DONE
    assert "Your password is now changed." in page_text(client.get(DONE))
    assert password_of(alice) == (False, True)
    # ACCOUNT_LOGIN_ON_PASSWORD_RESET is off: the person signs in with the new password.
    assert client.get(HOME).status_code == 302
    assert client.post(LOGIN, {"login": "alice", "password": PASSWORD}).status_code == 200
    assert client.post(LOGIN, {"login": "alice", "password": NEW}).status_code == 302


def test_reset_signs_out_other_sessions(client, alice, mailoutbox):
    # Someone who knew the old password is thrown out when the owner resets it.
    intruder = Client()
    assert intruder.post(LOGIN, {"login": "alice", "password": PASSWORD}).status_code == 302
    assert intruder.get(HOME).status_code == 200

    code = start_reset(client, "alice@example.com", mailoutbox)
    client.post(CONFIRM, {"code": code})
    client.post(COMPLETE, {"password1": NEW, "password2": NEW})

    assert intruder.get(HOME).status_code == 302


def test_wrong_code_is_refused_and_the_password_kept(client, alice, mailoutbox):
    code = start_reset(client, "alice@example.com", mailoutbox)

    response = client.post(CONFIRM, {"code": wrong_code(code)})

    assert response.status_code == 200
    assert "Incorrect code." in page_text(response)
    # The new-password step stays closed.
    blocked = client.post(COMPLETE, {"password1": NEW, "password2": NEW})
    assert blocked.status_code == 302
    assert blocked["Location"] == CONFIRM
    assert password_of(alice) == (True, False)


def test_three_wrong_codes_end_the_reset(client, alice, mailoutbox):
    code = start_reset(client, "alice@example.com", mailoutbox)

    for _ in range(2):
        assert "Incorrect code." in page_text(client.post(CONFIRM, {"code": wrong_code(code)}))
    response = client.post(CONFIRM, {"code": wrong_code(code)}, follow=True)

    assert response.redirect_chain[-1][0] == LOGIN
    assert "Too many failed login attempts. Try again later." in page_text(response)
    late = client.post(CONFIRM, {"code": code})
    assert late.status_code == 302
    assert late["Location"] == LOGIN
    assert client.post(COMPLETE, {"password1": NEW, "password2": NEW})["Location"] == RESET
    assert password_of(alice) == (True, False)


def test_expired_code_is_refused(client, alice, mailoutbox):
    code = start_reset(client, "alice@example.com", mailoutbox)

    with travel(CODE_CLOCK, 3 * 60 + 5):
        response = client.post(CONFIRM, {"code": code})
        assert response.status_code == 302
        assert response["Location"] == LOGIN
        assert client.post(COMPLETE, {"password1": NEW, "password2": NEW})["Location"] == RESET

    assert password_of(alice) == (True, False)


def test_new_password_must_pass_the_validators(client, alice, mailoutbox):
    code = start_reset(client, "alice@example.com", mailoutbox)
    client.post(CONFIRM, {"code": code})

    weak = client.post(COMPLETE, {"password1": "password", "password2": "password"})
    mismatch = client.post(COMPLETE, {"password1": NEW, "password2": NEW + "!"})

    assert weak.status_code == 200
    assert "This password is too common." in page_text(weak)
    assert mismatch.status_code == 200
    assert "You must type the same password each time." in page_text(mismatch)
    assert password_of(alice) == (True, False)


def test_unknown_address_gets_no_code_and_no_hint(client, alice, mailoutbox):
    response = client.post(RESET, {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response["Location"] == CONFIRM
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["nobody@example.com"]
    assert not CODE_RE.search(mailoutbox[0].body)
    client.post(CONFIRM, {"code": "AAAA-AAAA"})
    assert client.post(COMPLETE, {"password1": NEW, "password2": NEW}).status_code == 302
    assert password_of(alice) == (True, False)


def test_reset_lifts_the_failed_login_lock(client, alice, mailoutbox):
    # (allauth keys the lock by what was typed; the reset lifts the one on the email address.)
    for _ in range(5):
        client.post(LOGIN, {"login": "alice@example.com", "password": "guess again 123"})
    locked = client.post(LOGIN, {"login": "alice@example.com", "password": PASSWORD})
    assert "Too many failed login attempts. Try again later." in page_text(locked)

    code = start_reset(client, "alice@example.com", mailoutbox)
    client.post(CONFIRM, {"code": code})
    client.post(COMPLETE, {"password1": NEW, "password2": NEW})

    assert client.post(LOGIN, {"login": "alice@example.com", "password": NEW}).status_code == 302
    assert client.get(HOME).status_code == 200
