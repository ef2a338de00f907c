"""Hostile input on the group pages: ids beyond the database, unsafe text, invitation floods."""

from unittest import mock

import pytest
from django.urls import reverse

from accounts.models import Notification
from chatsite.errors import InvalidInput, NotFound
from groups import services
from groups.models import GroupInvitation
from messaging.models import Conversation, Membership

pytestmark = pytest.mark.django_db
HUGE = "99999999999999999999"


@pytest.mark.parametrize("name, data", [
    ("group_member_add", {"user_id": HUGE}),
    ("group_invite", {"user_id": HUGE}),
    ("group_member_add", {"user_id": ["", "2"]}),
])
def test_a_person_beyond_the_database_is_not_found_when_adding_or_inviting(client, crew, name, data):
    client.force_login(crew["owner"])
    response = client.post(reverse(name, args=[crew["group"].pk]), data, HTTP_HX_REQUEST="true")
    assert response.status_code in (400, 404)
    assert Membership.objects.filter(conversation=crew["group"]).count() == 3
    assert not GroupInvitation.objects.exists()


def test_creating_a_group_with_a_member_beyond_the_database_creates_nothing(client, crew):
    client.force_login(crew["owner"])
    response = client.post(reverse("group_create"), {"title": "New", "members": [HUGE]}, HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    assert not Conversation.objects.filter(title="New").exists()


@pytest.mark.parametrize("path", ["/g/{huge}/", "/g/{huge}/settings/", "/g/{group}/members/{huge}/remove/",
                                  "/g/{group}/members/{huge}/role/", "/invitations/{huge}/accept/",
                                  "/m/{huge}/seen-by/"])
def test_urls_with_an_id_beyond_the_database_are_not_found(client, crew, path):
    client.force_login(crew["owner"])
    url = path.format(huge=HUGE, group=crew["group"].pk)
    assert client.post(url).status_code == 404
    assert client.get(url).status_code in (404, 405)


@pytest.mark.parametrize("value", [HUGE, 10**30, -5, 0, float("inf"), float("nan"), "1e400", None, "abc"])
def test_services_take_any_member_id(crew, value):
    owner, group = crew["owner"], crew["group"]
    for call in (lambda: services.remove_member(user=owner, conversation_id=group.pk, member_id=value),
                 lambda: services.set_role(user=owner, conversation_id=group.pk, member_id=value, role="admin"),
                 lambda: services.transfer_ownership(user=owner, conversation_id=group.pk, member_id=value),
                 lambda: services.add_members(user=owner, conversation_id=group.pk, user_ids=[value]),
                 lambda: services.invite(user=owner, conversation_id=group.pk, invitee_id=value),
                 lambda: services.respond_to_invitation(user=owner, invitation_id=value, accept=True)):
        with pytest.raises((NotFound, InvalidInput)):
            call()
    assert Membership.objects.filter(conversation=group).count() == 3


def test_unsafe_characters_in_a_title_or_description_are_dropped_on_both_engines(client, crew):
    client.force_login(crew["owner"])
    response = client.post(reverse("group_create"), {"title": "Book\x00 club\x1b", "description": "one\x00\r\ntwo"})
    group = Conversation.objects.get(title="Book club")
    assert response.status_code == 302 and group.description == "one\ntwo"
    response = client.post(reverse("group_update", args=[group.pk]), {"title": "\x00\x00", "description": ""})
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.title == "Book club"  # a title of nothing but NULs is no title: refused


def test_the_title_must_be_text(crew):
    with pytest.raises(InvalidInput):
        services.create_group(user=crew["owner"], title=["a list"])


def test_inviting_and_revoking_in_a_loop_leaves_one_notification_and_one_alert(
        django_capture_on_commit_callbacks, crew):
    owner, nina, group = crew["owner"], crew["outsider"], crew["group"]
    recorded = []
    with mock.patch("chatsite.realtime.publish_now", lambda groups, event: recorded.append((list(groups), event))):
        for _ in range(8):
            with django_capture_on_commit_callbacks(execute=True):
                invitation = services.invite(user=owner, conversation_id=group.pk, invitee_id=nina.pk)
            with django_capture_on_commit_callbacks(execute=True):
                services.revoke_invitation(user=owner, invitation_id=invitation.pk)
    assert Notification.objects.filter(recipient=nina, kind="group_invitation").count() == 1
    alerts = [e for groups, e in recorded if e["type"] == "notification.created" and f"user.{nina.pk}" in groups]
    assert len(alerts) == 1
