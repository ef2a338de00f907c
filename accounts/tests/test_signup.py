"""Sign-up with email verification by code (mandatory)."""

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from accounts.models import User
from conftest import PASSWORD, make_user

from .helpers import CODE_RE, code_from_mail, page_text, travel, wrong_code

pytestmark = pytest.mark.django_db

STRONG = "a sturdy passphrase 9"
FORM = {
    "email": "ana@example.com",
    "username": "ana",
    "first_name": "Ana",
    "last_name": "Lima",
    "password1": STRONG,
    "password2": STRONG,
}
CONFIRM = reverse("account_email_verification_sent")
CODE_CLOCK = "allauth.account.internal.flows.code_verification"
RATE_LIMIT_CLOCK = "allauth.core.internal.ratelimit"


def signup(client, **changes):
    return client.post(reverse("account_signup"), {**FORM, **changes})


def is_signed_in(client) -> bool:
    return client.get(reverse("home")).status_code == 200


def test_signup_page_asks_for_names(client):
    response = client.get(reverse("account_signup"))
    assert response.status_code == 200
    text = page_text(response)
    for label in ("Email", "Username", "Display name", "Last name (optional)", "Password"):
        assert label in text


def test_signup_stores_an_unverified_user_and_mails_a_code(client, mailoutbox):
    response = signup(client)

    assert response.status_code == 302
    assert response["Location"] == CONFIRM
    user = User.objects.get(username="ana")
    assert (user.email, user.first_name, user.last_name) == ("ana@example.com", "Ana", "Lima")
    assert user.check_password(STRONG)
    assert user.is_active
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.primary, address.verified) == ("ana@example.com", True, False)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["ana@example.com"]
    assert mailoutbox[0].subject.startswith("[Chat] ")
    code_from_mail(mailoutbox[0])  # exactly one code in the mail
    # Not signed in until the address is verified.
    assert not is_signed_in(client)
    page = client.get(CONFIRM)
    assert page.status_code == 200
    # The worker sends the mail (chatsite/mail.py): the page says it is on its way.
    assert "Your code is on its way to ana@example.com" in page_text(page)
    assert "A confirmation email is on its way to ana@example.com." in page_text(page)


def test_right_code_verifies_the_address_and_signs_in(client, mailoutbox):
    signup(client)
    code = code_from_mail(mailoutbox[0])

    response = client.post(CONFIRM, {"code": code})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert EmailAddress.objects.get(email="ana@example.com").verified is True
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert "Welcome, Ana" in page_text(home)
    assert int(client.session["_auth_user_id"]) == User.objects.get(username="ana").pk


def test_code_is_accepted_in_lower_case_and_without_dash(client, mailoutbox):
    # People type what they read on a phone; allauth normalises the code.
    signup(client)
    code = code_from_mail(mailoutbox[0])

    response = client.post(CONFIRM, {"code": code.replace("-", "").lower()})

    assert response.status_code == 302
    assert EmailAddress.objects.get(email="ana@example.com").verified is True


def test_wrong_code_is_refused_with_a_message(client, mailoutbox):
    signup(client)
    code = code_from_mail(mailoutbox[0])

    response = client.post(CONFIRM, {"code": wrong_code(code)})

    assert response.status_code == 200
    assert "Incorrect code." in page_text(response)
    assert EmailAddress.objects.get(email="ana@example.com").verified is False
    assert not is_signed_in(client)
    # One mistake is forgiven: the right code still works.
    assert client.post(CONFIRM, {"code": code}).status_code == 302
    assert EmailAddress.objects.get(email="ana@example.com").verified is True


def test_three_wrong_codes_end_the_verification(client, mailoutbox):
    signup(client)
    code = code_from_mail(mailoutbox[0])

    assert "Incorrect code." in page_text(client.post(CONFIRM, {"code": wrong_code(code)}))
    assert "Incorrect code." in page_text(client.post(CONFIRM, {"code": wrong_code(code)}))
    response = client.post(CONFIRM, {"code": wrong_code(code)}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("account_login")
    assert "Too many failed login attempts. Try again later." in page_text(response)
    # The code that was right is now worthless, too.
    late = client.post(CONFIRM, {"code": code})
    assert late.status_code == 302
    assert late["Location"] == reverse("account_login")
    assert EmailAddress.objects.get(email="ana@example.com").verified is False
    assert not is_signed_in(client)


def test_expired_code_is_refused(client, mailoutbox, settings):
    signup(client)
    code = code_from_mail(mailoutbox[0])
    timeout = 15 * 60
    assert getattr(settings, "ACCOUNT_EMAIL_VERIFICATION_BY_CODE_TIMEOUT", timeout) == timeout

    with travel(CODE_CLOCK, timeout + 5):
        response = client.post(CONFIRM, {"code": code})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_login")
    assert EmailAddress.objects.get(email="ana@example.com").verified is False
    assert not is_signed_in(client)


def test_code_just_before_the_timeout_still_works(client, mailoutbox):
    signup(client)
    code = code_from_mail(mailoutbox[0])

    with travel(CODE_CLOCK, 15 * 60 - 30):
        response = client.post(CONFIRM, {"code": code})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert EmailAddress.objects.get(email="ana@example.com").verified is True


def test_duplicate_email_in_other_case_creates_nothing_and_warns_the_owner(client, mailoutbox, alice):
    # allauth prevents enumeration: the page looks the same, the owner gets a mail instead of a code.
    response = signup(client, email="ALICE@Example.COM")

    assert response.status_code == 302
    assert not User.objects.filter(username="ana").exists()
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1
    assert EmailAddress.objects.filter(email__iexact="alice@example.com").count() == 1
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["alice@example.com"]
    assert "an account using that email address already exists" in mailoutbox[0].body
    assert not CODE_RE.search(mailoutbox[0].body)
    # The code page is shown as usual, but no code exists that would sign anybody in.
    assert "Incorrect code." in page_text(client.post(CONFIRM, {"code": "AAAA-AAAA"}))
    assert not is_signed_in(client)


@pytest.mark.parametrize("username", ["alice", "Alice", "ALICE"])
def test_duplicate_username_ignoring_case_is_refused(client, mailoutbox, alice, username):
    response = signup(client, username=username)

    assert response.status_code == 200
    assert "A user with that username already exists." in page_text(response)
    assert User.objects.filter(username__iexact="alice").count() == 1
    assert not User.objects.filter(email="ana@example.com").exists()
    assert mailoutbox == []


@pytest.mark.parametrize("username", ["admin", "Admin", "support"])
def test_reserved_usernames_are_refused(client, username):
    response = signup(client, username=username)

    assert response.status_code == 200
    assert "Username can not be used. Please use other username." in page_text(response)
    assert not User.objects.filter(email="ana@example.com").exists()


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("ab", "Ensure this value has at least 3 characters (it has 2)."),
        ("an a", "Enter a valid username."),
        ("ana<script>", "Enter a valid username."),
    ],
)
def test_malformed_usernames_are_refused(client, mailoutbox, username, message):
    response = signup(client, username=username)

    assert response.status_code == 200
    assert message in page_text(response)
    assert not User.objects.filter(email="ana@example.com").exists()
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1!", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("8273645091", "This password is entirely numeric."),
        ("ana@example.com1", "The password is too similar to the"),
    ],
)
def test_weak_password_is_refused_with_the_validator_message(client, mailoutbox, password, message):
    response = signup(client, password1=password, password2=password)

    assert response.status_code == 200
    assert message in page_text(response)
    assert not User.objects.filter(username="ana").exists()
    assert mailoutbox == []


def test_mismatched_passwords_are_refused(client):
    response = signup(client, password2=STRONG + "x")

    assert response.status_code == 200
    assert "You must type the same password each time." in page_text(response)
    assert not User.objects.filter(username="ana").exists()


@pytest.mark.parametrize("field", ["email", "username", "first_name"])
def test_every_field_but_the_last_name_is_required(client, field):
    response = signup(client, **{field: ""})

    assert response.status_code == 200
    assert "This field is required." in page_text(response)
    assert not User.objects.filter(email="ana@example.com").exists()
    assert not User.objects.filter(username="ana").exists()


def test_invalid_email_is_refused(client):
    response = signup(client, email="not-an-address")

    assert response.status_code == 200
    assert "Enter a valid email address." in page_text(response)
    assert not User.objects.filter(username="ana").exists()


def test_signup_can_be_closed_by_the_operator(client, settings, mailoutbox):
    settings.ACCOUNT_ALLOW_SIGNUP = False

    page = client.get(reverse("account_signup"))
    response = signup(client)

    assert "Sign Up Closed" in page_text(page)
    assert response.status_code == 200
    assert "Sign Up Closed" in page_text(response)
    assert not User.objects.filter(username="ana").exists()
    assert mailoutbox == []


def test_unverified_user_returning_later_gets_a_fresh_code_not_an_error(client, mailoutbox):
    # Signed up, closed the tab, came back a little later to sign in with the password.
    signup(client)
    first = code_from_mail(mailoutbox[0])
    other = Client()

    with travel(RATE_LIMIT_CLOCK, 30):
        response = other.post(reverse("account_login"), {"login": "ana", "password": STRONG})

    assert response.status_code == 302
    assert response["Location"] == CONFIRM
    assert len(mailoutbox) == 2
    code = code_from_mail(mailoutbox[1])
    assert code != first
    assert "Incorrect code." in page_text(other.post(CONFIRM, {"code": first}))
    assert other.post(CONFIRM, {"code": code}).status_code == 302
    assert EmailAddress.objects.get(email="ana@example.com").verified is True
    assert is_signed_in(other)


def test_signing_up_while_signed_in_is_not_offered(client):
    user = make_user("zoe", password=PASSWORD)
    client.force_login(user)

    response = client.get(reverse("account_signup"))

    assert response.status_code == 302
    assert User.objects.count() == 1


def test_the_last_name_may_be_left_empty(client):
    response = signup(client, last_name="")

    assert response.status_code == 302
    assert User.objects.get(username="ana").last_name == ""
