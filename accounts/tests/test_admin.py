"""The Django admin's user pages, as an operator uses them."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from conftest import PASSWORD, make_user

from .helpers import page_text

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")


@pytest.fixture
def admin_client_(client):
    boss = make_user("boss", is_staff=True, is_superuser=True, first_name="Boss", last_name="Person")
    client.force_login(boss)
    return client


def usernames_listed(response) -> set[str]:
    return {user.username for user in response.context["cl"].result_list}


def test_changelist_lists_users(admin_client_, alice, bob):
    response = admin_client_.get(CHANGELIST)

    assert response.status_code == 200
    assert usernames_listed(response) == {"boss", "alice", "bob"}
    text = page_text(response)
    assert "alice@example.com" in text
    assert "bob@example.com" in text


@pytest.mark.parametrize(
    ("query", "expected"),
    [("alice", {"alice"}), ("BAKER", {"bob"}), ("example.com", {"boss", "alice", "bob"}), ("nobody", set())],
)
def test_changelist_search(admin_client_, alice, bob, query, expected):
    response = admin_client_.get(CHANGELIST, {"q": query})

    assert response.status_code == 200
    assert usernames_listed(response) == expected


def test_changelist_filter_inactive(admin_client_, alice, bob):
    bob.is_active = False
    bob.save()

    response = admin_client_.get(CHANGELIST, {"is_active__exact": "0"})

    assert usernames_listed(response) == {"bob"}


def test_change_page_shows_and_saves_the_profile_fields(admin_client_, alice):
    url = reverse("admin:accounts_user_change", args=[alice.pk])
    page = admin_client_.get(url)
    assert page.status_code == 200
    assert "About" in page_text(page)
    assert "Last seen" in page_text(page)

    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name not in ("password", "avatar", "groups", "user_permissions", "last_seen")}
    data.update({
        "username": "alice", "about": "Set by an admin", "is_active": "", "date_joined_0": "2024-01-01",
        "date_joined_1": "10:00:00",
    })
    data.pop("date_joined", None)
    data.pop("last_login", None)
    response = admin_client_.post(url, data)

    assert response.status_code == 302, page_text(response)[:2000]
    alice = User.objects.get(pk=alice.pk)
    assert alice.about == "Set by an admin"
    assert alice.is_active is False


def test_add_user_page_works(admin_client_):
    response = admin_client_.post(reverse("admin:accounts_user_add"), {
        "username": "carol", "password1": "a fine passphrase 8", "password2": "a fine passphrase 8", "usable_password": "true",
    })

    assert response.status_code == 302
    assert User.objects.get(username="carol").check_password("a fine passphrase 8")


def test_staff_without_permissions_cannot_see_users(client, alice):
    staff = make_user("helper", is_staff=True)
    client.force_login(staff)

    assert client.get(CHANGELIST).status_code == 403


def test_ordinary_users_are_sent_to_the_admin_login(alice_client):
    response = alice_client.get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_admin_login_form_works_for_staff(alice):
    make_user("boss", is_staff=True, is_superuser=True)
    browser = Client()

    response = browser.post(reverse("admin:login"), {"username": "boss", "password": PASSWORD, "next": CHANGELIST})

    assert response.status_code == 302
    assert browser.get(CHANGELIST).status_code == 200
