"""Deleting one's account: personal data goes, the account cannot be used again."""

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import User
from conftest import PASSWORD

from .helpers import CODE_RE, image_bytes, page_text, stored_files

pytestmark = pytest.mark.django_db

DELETE = reverse("account_delete")
LOGIN = reverse("account_login")
HOME = reverse("home")


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def unchanged(user):
    user = fresh(user)
    assert user.is_active
    assert (user.username, user.email, user.first_name, user.last_name) == ("alice", "alice@example.com", "Alice", "Archer")
    assert user.check_password(PASSWORD)
    assert EmailAddress.objects.filter(user=user, email="alice@example.com", verified=True).exists()


@pytest.fixture
def signed_in(client, alice):
    assert client.post(LOGIN, {"login": "alice", "password": PASSWORD}).status_code == 302
    return client


def test_delete_page_needs_a_signed_in_user(client):
    response = client.get(DELETE)

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={DELETE}"


def test_delete_page_asks_for_password_and_username(signed_in):
    response = signed_in.get(DELETE)

    assert response.status_code == 200
    text = page_text(response)
    assert "Your password" in text
    assert "Type your username to confirm" in text


def test_wrong_password_changes_nothing(signed_in, alice):
    response = signed_in.post(DELETE, {"password": "not my password 1", "confirm": "alice"})

    assert response.status_code == 400
    assert "Your password is not correct." in page_text(response)
    unchanged(alice)
    assert signed_in.get(HOME).status_code == 200


@pytest.mark.parametrize(("confirm", "message"), [("bob", "That is not your username."), ("", "This field is required.")])
def test_wrong_confirmation_changes_nothing(signed_in, alice, confirm, message):
    response = signed_in.post(DELETE, {"password": PASSWORD, "confirm": confirm})

    assert response.status_code == 400
    assert message in page_text(response)
    unchanged(alice)
    assert signed_in.get(HOME).status_code == 200


def test_get_does_not_delete(signed_in, alice):
    signed_in.get(DELETE, {"password": PASSWORD, "confirm": "alice"})

    unchanged(alice)


def test_delete_removes_personal_data_and_signs_out(signed_in, alice, bob, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(reverse("profile_edit"), {
            "first_name": "Alice", "last_name": "Archer", "username": "alice", "about": "About me",
            "avatar": SimpleUploadedFile("me.png", image_bytes("PNG"), content_type="image/png"),
        })
    assert fresh(alice).avatar.name
    Authenticator.objects.create(user=alice, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "x"})

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(DELETE, {"password": PASSWORD, "confirm": "alice"}, follow=True)

    assert response.redirect_chain[0] == (LOGIN, 302)
    assert "Your account was deleted." in page_text(response)
    user = fresh(alice)
    assert user.is_active is False
    assert (user.first_name, user.last_name, user.email, user.about, user.avatar.name) == ("", "", "", "", "")
    assert user.username == f"deleted-{user.pk}"
    assert not user.has_usable_password()
    assert (user.is_staff, user.is_superuser) == (False, False)
    assert not EmailAddress.objects.filter(user=user).exists()
    assert not Authenticator.objects.filter(user=user).exists()
    assert stored_files(media) == []
    # Signed out, and others see no profile any more.
    assert signed_in.get(HOME).status_code == 302
    other = Client()
    other.force_login(bob)
    assert other.get(reverse("profile_detail", args=[user.pk])).status_code == 404
    # Bob's data is untouched.
    assert EmailAddress.objects.filter(user=bob).count() == 1
    assert fresh(bob).is_active


def test_deleted_account_cannot_sign_in_again(signed_in, alice, mailoutbox):
    signed_in.post(DELETE, {"password": PASSWORD, "confirm": "alice"})

    for login in ("alice", "alice@example.com", f"deleted-{alice.pk}"):
        browser = Client()
        response = browser.post(LOGIN, {"login": login, "password": PASSWORD})
        assert response.status_code == 200, login
        assert "password you specified are not correct" in page_text(response)
        assert browser.get(HOME).status_code == 302
    # No sign-in code is sent either.
    browser = Client()
    browser.post(reverse("account_request_login_code"), {"email": "alice@example.com"})
    assert all(not CODE_RE.search(mail.body) for mail in mailoutbox)
    browser.post(reverse("account_confirm_login_code"), {"code": "AAAA-AAAA"})
    assert browser.get(HOME).status_code == 302


def test_other_sessions_end_too(signed_in, alice):
    phone = Client()
    phone.post(LOGIN, {"login": "alice", "password": PASSWORD})
    assert phone.get(HOME).status_code == 200

    signed_in.post(DELETE, {"password": PASSWORD, "confirm": "alice"})

    assert phone.get(HOME).status_code == 302


def test_username_and_email_are_free_again(signed_in, alice, mailoutbox):
    signed_in.post(DELETE, {"password": PASSWORD, "confirm": "alice"})

    response = Client().post(reverse("account_signup"), {
        "email": "alice@example.com", "username": "alice", "first_name": "New", "last_name": "Alice",
        "password1": "another good passphrase 3", "password2": "another good passphrase 3",
    })

    assert response.status_code == 302
    newcomer = User.objects.get(username="alice")
    assert newcomer.pk != alice.pk
    assert newcomer.email == "alice@example.com"
    assert CODE_RE.search(mailoutbox[-1].body)


def test_account_without_a_password_confirms_with_the_username_only(client, alice):
    # e.g. someone who only ever signed in through Google.
    alice.set_unusable_password()
    alice.save()
    client.force_login(alice)
    assert "Your password" not in page_text(client.get(DELETE))

    response = client.post(DELETE, {"confirm": "alice"})

    assert response.status_code == 302
    assert fresh(alice).is_active is False
