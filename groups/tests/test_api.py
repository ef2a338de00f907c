"""The API's groups (/api/v1/): create, members and roles, leave, invitations, with the rules of
groups.services (the role checks are the group pages' own)."""

import pytest

from conftest import make_user
from groups.models import GroupInvitation
from messaging.models import Conversation, Membership

pytestmark = pytest.mark.django_db


def test_create_a_group_with_members(api_as):
    olga, adam = make_user("olga"), make_user("adam")
    made = api_as(olga).post("/groups", {"title": "Crew", "member_ids": [adam.pk]})
    assert made.status_code == 201
    group = made.json()
    assert group["kind"] == "group" and group["title"] == "Crew" and group["role"] == "owner"
    assert sorted(m["username"] for m in group["members"]) == ["adam", "olga"]
    untitled = api_as(olga).post("/groups", {"title": " "})
    assert untitled.status_code == 400 and untitled.json()["error"]["field"] == "title"


def test_members_are_listed_by_role(api_as, crew):
    listed = api_as(crew["member"]).get(f"/groups/{crew['group'].pk}/members")
    assert listed.status_code == 200
    assert [(m["user"]["username"], m["role"]) for m in listed.json()] == [
        ("olga", "owner"), ("adam", "admin"), ("mia", "member")]


def test_admins_add_remove_and_change_roles(api_as, crew):
    group, api = crew["group"], api_as(crew["admin"])
    xavier = make_user("xavier")
    added = api.post(f"/groups/{group.pk}/members", {"user_ids": [xavier.pk]})
    assert added.status_code == 201 and [m["user"]["id"] for m in added.json()] == [xavier.pk]
    promoted = api.patch(f"/groups/{group.pk}/members/{xavier.pk}", {"role": "admin"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    # Only the owner dismisses an admin.
    refused = api.delete(f"/groups/{group.pk}/members/{xavier.pk}")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert api_as(crew["owner"]).delete(f"/groups/{group.pk}/members/{xavier.pk}").status_code == 204
    assert not Membership.objects.filter(conversation=group, user=xavier).exists()
    wrong_role = api.patch(f"/groups/{group.pk}/members/{crew['member'].pk}", {"role": "owner"})
    assert wrong_role.status_code == 422 and wrong_role.json()["error"]["field"] == "role"


def test_a_member_may_not_manage(api_as, crew):
    group, api = crew["group"], api_as(crew["member"])
    assert api.post(f"/groups/{group.pk}/members", {"user_ids": [crew["outsider"].pk]}).status_code == 403
    assert api.patch(f"/groups/{group.pk}/members/{crew['admin'].pk}", {"role": "member"}).status_code == 403
    assert Membership.objects.get(conversation=group, user=crew["admin"]).role == "admin"


def test_leaving_hands_the_group_on(api_as, crew):
    group = crew["group"]
    assert api_as(crew["owner"]).post(f"/groups/{group.pk}/leave", {}).status_code == 204
    assert Membership.objects.get(conversation=group, user=crew["admin"]).role == "owner"
    left_again = api_as(crew["owner"]).post(f"/groups/{group.pk}/leave", {})
    assert left_again.status_code == 404 and left_again.json()["error"]["code"] == "not_member"


def test_invite_then_accept_or_decline(api_as, crew):
    group, nina = crew["group"], crew["outsider"]
    invited = api_as(crew["admin"]).post(f"/groups/{group.pk}/invitations", {"user_id": nina.pk})
    assert invited.status_code == 201
    invitation = invited.json()
    assert invitation["group"] == {"id": group.pk, "title": "Crew"} and invitation["status"] == "pending"
    assert [i["id"] for i in api_as(crew["member"]).get(f"/groups/{group.pk}/invitations").json()] == [invitation["id"]]
    mine = api_as(nina).get("/invitations").json()
    assert [i["id"] for i in mine] == [invitation["id"]]
    # Nobody but the invitee answers it.
    assert api_as(crew["member"]).post(f"/invitations/{invitation['id']}/accept").status_code == 404
    accepted = api_as(nina).post(f"/invitations/{invitation['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert api_as(nina).get(f"/conversations/{group.pk}").status_code == 200
    again = api_as(nina).post(f"/invitations/{invitation['id']}/decline")
    assert again.status_code == 400

    zoe = make_user("zoe")
    second = api_as(crew["owner"]).post(f"/groups/{group.pk}/invitations", {"user_id": zoe.pk}).json()
    assert api_as(zoe).post(f"/invitations/{second['id']}/decline").json()["status"] == "declined"
    assert not Membership.objects.filter(conversation=group, user=zoe).exists()
    assert GroupInvitation.objects.filter(conversation=group).count() == 2


def test_a_member_invites_only_when_the_group_allows_it(api_as, crew):
    group = crew["group"]
    refused = api_as(crew["member"]).post(f"/groups/{group.pk}/invitations", {"user_id": crew["outsider"].pk})
    assert refused.status_code == 403
    Conversation.objects.filter(pk=group.pk).update(invite_policy="everyone")
    assert api_as(crew["member"]).post(f"/groups/{group.pk}/invitations",
                                       {"user_id": crew["outsider"].pk}).status_code == 201


def test_a_direct_chat_is_not_a_group(api_as, alice, direct):
    refused = api_as(alice).get(f"/groups/{direct.pk}/members")
    assert refused.status_code == 404


def test_admins_change_the_settings_and_only_what_is_sent(api_as, crew):
    group = crew["group"]
    changed = api_as(crew["admin"]).patch(f"/groups/{group.pk}", {"description": "Our crew", "post_policy": "admins"})
    assert changed.status_code == 200 and changed.json()["title"] == "Crew"
    group.refresh_from_db()
    assert (group.title, group.description, group.post_policy) == ("Crew", "Our crew", "admins")
    # The group's own rule then holds over the API too.
    refused = api_as(crew["member"]).post(f"/conversations/{group.pk}/messages", {"body": "hi"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert api_as(crew["member"]).patch(f"/groups/{group.pk}", {"title": "Mine"}).status_code == 403
    bad = api_as(crew["admin"]).patch(f"/groups/{group.pk}", {"invite_policy": "nobody"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "invite_policy"


def test_only_the_owner_hands_over_or_deletes_the_group(api_as, crew):
    group = crew["group"]
    assert api_as(crew["admin"]).post(f"/groups/{group.pk}/owner", {"user_id": crew["member"].pk}).status_code == 403
    assert api_as(crew["admin"]).delete(f"/groups/{group.pk}").status_code == 403
    assert api_as(crew["owner"]).post(f"/groups/{group.pk}/owner", {"user_id": crew["member"].pk}).status_code == 204
    roles = dict(Membership.objects.filter(conversation=group).values_list("user__username", "role"))
    assert roles == {"olga": "admin", "adam": "admin", "mia": "owner"}
    assert api_as(crew["member"]).delete(f"/groups/{group.pk}").status_code == 204
    assert not Conversation.objects.filter(pk=group.pk).exists()


def test_an_invitation_is_revoked_by_its_sender_or_an_admin(api_as, crew):
    group = crew["group"]
    Conversation.objects.filter(pk=group.pk).update(invite_policy="everyone")
    invitation = api_as(crew["member"]).post(f"/groups/{group.pk}/invitations",
                                             {"user_id": crew["outsider"].pk}).json()
    assert api_as(crew["outsider"]).post(f"/invitations/{invitation['id']}/revoke").status_code == 404
    revoked = api_as(crew["admin"]).post(f"/invitations/{invitation['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert api_as(crew["outsider"]).get("/invitations").json() == []
