"""Editing one's profile and looking at other people's."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from conftest import PASSWORD, make_user

from .helpers import page_text

pytestmark = pytest.mark.django_db

EDIT = reverse("profile_edit")
LOGIN = reverse("account_login")


def form(user, **changes):
    data = {"first_name": user.first_name, "last_name": user.last_name, "username": user.username, "about": user.about}
    return {**data, **changes}


def profile_part(response) -> str:
    """The profile itself, without the menu every page has."""
    body = response.content.decode()
    return body[body.index('<article class="profile"'):body.index("</article>")]


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def test_edit_needs_a_signed_in_user(client):
    response = client.get(EDIT)

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={EDIT}"


def test_edit_page_shows_the_current_values(alice_client, alice):
    alice.about = "Climbs rocks."
    alice.save()

    response = alice_client.get(EDIT)

    assert response.status_code == 200
    body = response.content.decode()
    assert 'value="Alice"' in body
    assert 'value="Archer"' in body
    assert 'value="alice"' in body
    assert "Climbs rocks." in body


def test_saving_names_username_and_about(alice_client, alice):
    response = alice_client.post(
        EDIT, form(alice, first_name="Alicia", last_name="Arrow", username="alicia", about="Hello there."), follow=True
    )

    assert response.redirect_chain == [(reverse("profile_detail", args=[alice.pk]), 302)]
    text = page_text(response)
    assert "Your profile was saved." in text
    assert "Alicia Arrow" in text
    assert "@alicia" in text
    assert "Hello there." in text
    alice = fresh(alice)
    assert (alice.first_name, alice.last_name, alice.username, alice.about) == ("Alicia", "Arrow", "alicia", "Hello there.")
    # The new username signs in; the password is untouched.
    assert Client().post(LOGIN, {"login": "alicia", "password": PASSWORD}).status_code == 302


@pytest.mark.parametrize("taken", ["bob", "Bob", "BOB"])
def test_username_of_someone_else_is_refused_ignoring_case(alice_client, alice, bob, taken):
    response = alice_client.post(EDIT, form(alice, username=taken, first_name="Changed"))

    assert response.status_code == 400
    assert "A user with that username already exists." in page_text(response)
    assert fresh(alice).username == "alice"
    assert fresh(alice).first_name == "Alice"  # nothing of the form was saved
    assert fresh(bob).username == "bob"
    # The page still shows who is signed in, not the refused values.
    assert "Alice Archer" in page_text(response)


def test_changing_only_the_case_of_ones_own_username_is_allowed(alice_client, alice):
    response = alice_client.post(EDIT, form(alice, username="Alice"))

    assert response.status_code == 302
    assert fresh(alice).username == "Alice"


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("admin", "Username can not be used. Please use other username."),
        ("Support", "Username can not be used. Please use other username."),
        ("al", "Ensure this value has at least 3 characters (it has 2)."),
        ("al ice", "Enter a valid username."),
        ("", "This field is required."),
    ],
)
def test_invalid_usernames_are_refused(alice_client, alice, username, message):
    response = alice_client.post(EDIT, form(alice, username=username))

    assert response.status_code == 400
    assert message in page_text(response)
    assert fresh(alice).username == "alice"


def test_about_is_limited_to_500_characters(alice_client, alice):
    response = alice_client.post(EDIT, form(alice, about="x" * 501))

    assert response.status_code == 400
    assert "Ensure this value has at most 500 characters (it has 501)." in page_text(response)
    assert fresh(alice).about == ""

    assert alice_client.post(EDIT, form(alice, about="x" * 500)).status_code == 302
    assert fresh(alice).about == "x" * 500


def test_own_profile_offers_an_edit_link(alice_client, alice):
    response = alice_client.get(reverse("profile_detail", args=[alice.pk]))

    assert response.status_code == 200
    assert EDIT in profile_part(response)


def test_someone_elses_profile(alice_client, bob):
    bob.about = "Bakes bread."
    bob.save()

    response = alice_client.get(reverse("profile_detail", args=[bob.pk]))

    assert response.status_code == 200
    text = page_text(response)
    assert "Bob Baker" in text
    assert "@bob" in text
    assert "Bakes bread." in text
    assert EDIT not in profile_part(response)


def test_profile_text_is_escaped(alice_client, bob):
    bob.about = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    bob.first_name = "<b>Bob</b>"
    bob.save()

    response = alice_client.get(reverse("profile_detail", args=[bob.pk]))

    body = response.content.decode()
    assert "<script>alert" not in body
    assert "<img src=x" not in body
    assert "&lt;script&gt;" in body
    assert "&lt;b&gt;Bob&lt;/b&gt;" in body


def test_profile_of_an_inactive_user_is_not_found(alice_client):
    gone = make_user("gone")
    gone.is_active = False
    gone.save()

    assert alice_client.get(reverse("profile_detail", args=[gone.pk])).status_code == 404
    assert alice_client.get(reverse("profile_detail", args=[gone.pk + 1000])).status_code == 404


def test_profiles_are_for_signed_in_people_only(client, bob):
    url = reverse("profile_detail", args=[bob.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={url}"
