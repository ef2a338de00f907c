"""Signing in with a one-time code sent by email instead of a password."""

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from conftest import make_user

from .helpers import CODE_RE, code_from_mail, page_text, travel, wrong_code

pytestmark = pytest.mark.django_db

REQUEST = reverse("account_request_login_code")
CONFIRM = reverse("account_confirm_login_code")
HOME = reverse("home")
CODE_CLOCK = "allauth.account.internal.flows.code_verification"


def request_code(client, email):
    return client.post(REQUEST, {"email": email})


def signed_in_user_id(client):
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


def test_request_page_asks_for_an_email(client):
    response = client.get(REQUEST)

    assert response.status_code == 200
    assert "Email" in page_text(response)


def test_code_from_the_mail_signs_in(client, alice, mailoutbox):
    response = request_code(client, "alice@example.com")

    assert response.status_code == 302
    assert response["Location"] == CONFIRM
    assert signed_in_user_id(client) is None
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["alice@example.com"]
    assert "Your sign-in code is listed below" in mailoutbox[0].body
    page = client.get(CONFIRM)
    assert page.status_code == 200
    # The worker sends the mail (chatsite/mail.py): the page says it is on its way.
    assert "Your code is on its way to alice@example.com" in page_text(page)
    assert "A sign-in code is on its way to alice@example.com." in page_text(page)

    done = client.post(CONFIRM, {"code": code_from_mail(mailoutbox[0])})

    assert done.status_code == 302
    assert done["Location"] == HOME
    assert signed_in_user_id(client) == alice.pk
    assert "Welcome, Alice" in page_text(client.get(HOME))


def test_email_is_matched_ignoring_case(client, alice, mailoutbox):
    request_code(client, "ALICE@example.com")

    done = client.post(CONFIRM, {"code": code_from_mail(mailoutbox[0])})

    assert done.status_code == 302
    assert signed_in_user_id(client) == alice.pk


def test_code_works_in_the_browser_that_asked_for_it_only(client, alice, mailoutbox):
    request_code(client, "alice@example.com")
    code = code_from_mail(mailoutbox[0])
    elsewhere = Client()

    response = elsewhere.post(CONFIRM, {"code": code})

    assert response.status_code == 302
    assert response["Location"] == REQUEST
    assert signed_in_user_id(elsewhere) is None


def test_wrong_code_is_refused(client, alice, mailoutbox):
    request_code(client, "alice@example.com")
    code = code_from_mail(mailoutbox[0])

    response = client.post(CONFIRM, {"code": wrong_code(code)})

    assert response.status_code == 200
    assert "Incorrect code." in page_text(response)
    assert signed_in_user_id(client) is None
    assert client.get(HOME).status_code == 302
    # One typo is forgiven.
    assert client.post(CONFIRM, {"code": code}).status_code == 302
    assert signed_in_user_id(client) == alice.pk


def test_three_wrong_codes_throw_the_code_away(client, alice, mailoutbox):
    request_code(client, "alice@example.com")
    code = code_from_mail(mailoutbox[0])

    for _ in range(2):
        assert "Incorrect code." in page_text(client.post(CONFIRM, {"code": wrong_code(code)}))
    response = client.post(CONFIRM, {"code": wrong_code(code)}, follow=True)

    assert response.redirect_chain[-1][0] == REQUEST
    assert "Too many failed login attempts. Try again later." in page_text(response)
    late = client.post(CONFIRM, {"code": code})
    assert late.status_code == 302
    assert late["Location"] == REQUEST
    assert signed_in_user_id(client) is None


def test_expired_code_is_refused(client, alice, mailoutbox):
    request_code(client, "alice@example.com")
    code = code_from_mail(mailoutbox[0])

    with travel(CODE_CLOCK, 3 * 60 + 5):
        response = client.post(CONFIRM, {"code": code})

    assert response.status_code == 302
    assert response["Location"] == REQUEST
    assert signed_in_user_id(client) is None


def test_unknown_address_gets_no_code_and_no_hint(client, alice, mailoutbox):
    response = request_code(client, "nobody@example.com")

    # The page looks the same as for a real account (no enumeration) ...
    assert response.status_code == 302
    assert response["Location"] == CONFIRM
    # ... but the mail only says there is no account, and no code signs anybody in.
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["nobody@example.com"]
    assert not CODE_RE.search(mailoutbox[0].body)
    client.post(CONFIRM, {"code": "AAAA-AAAA"})
    assert signed_in_user_id(client) is None


def test_inactive_account_gets_no_code(client, mailoutbox):
    user = make_user("gone")
    user.is_active = False
    user.save()

    request_code(client, "gone@example.com")

    assert len(mailoutbox) == 1
    assert not CODE_RE.search(mailoutbox[0].body)
    client.post(CONFIRM, {"code": "AAAA-AAAA"})
    assert signed_in_user_id(client) is None


def test_code_sign_in_verifies_an_unverified_address(client, mailoutbox):
    # Receiving the code proves the address belongs to the person.
    user = make_user("una", verified=False)

    request_code(client, "una@example.com")
    done = client.post(CONFIRM, {"code": code_from_mail(mailoutbox[0])})

    assert done.status_code == 302
    assert signed_in_user_id(client) == user.pk
    assert EmailAddress.objects.get(user=user).verified is True


def test_asking_for_codes_too_often_is_refused(client, alice, mailoutbox):
    for _ in range(3):
        assert request_code(Client(), "alice@example.com").status_code == 302

    response = request_code(client, "alice@example.com")

    assert response.status_code == 200
    assert "Too many failed login attempts. Try again later." in page_text(response)
    assert len(mailoutbox) == 3
