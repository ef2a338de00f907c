import pytest
from django.test import override_settings

from chatsite.errors import InvalidInput, NotAllowed, NotFound
from conftest import make_user
from groups import services
from groups.models import GroupInvitation
from messaging import selectors as message_selectors
from messaging import services as message_services
from messaging.models import Conversation, Membership, Mention, Message

pytestmark = pytest.mark.django_db
Role = Membership.Role


def roles(group):
    return dict(Membership.objects.filter(conversation=group).values_list("user__username", "role"))


def system_lines(group):
    return list(Message.objects.filter(conversation=group, kind="system").order_by("seq").values_list("body", flat=True))


def test_create_group_makes_owner_and_members_and_says_so(crew):
    group = crew["group"]
    assert group.kind == Conversation.Kind.GROUP and group.title == "Crew"
    assert roles(group) == {"olga": "owner", "adam": "admin", "mia": "member"}
    assert system_lines(group) == ["Olga Tester created the group “Crew”", "Olga Tester added Adam Tester and Mia Tester",
                                   "Olga Tester made Adam Tester an admin"]


@pytest.mark.parametrize("title, error", [("", "needs a name"), ("   ", "needs a name"), ("x" * 101, "at most 100")])
def test_create_group_refuses_bad_names_and_stores_nothing(title, error):
    olga = make_user("olga")
    with pytest.raises(InvalidInput, match=error):
        services.create_group(user=olga, title=title)
    assert not Conversation.objects.exists()


@override_settings(GROUP_MAX_MEMBERS=3)
def test_group_size_limit(crew):
    olga = make_user("olga2")
    people = [make_user(f"p{i}") for i in range(3)]
    with pytest.raises(InvalidInput, match="at most 3 members"):
        services.create_group(user=olga, title="Too big", member_ids=[p.pk for p in people])
    with pytest.raises(InvalidInput, match="at most 3 members"):
        services.add_members(user=crew["owner"], conversation_id=crew["group"].pk, user_ids=[crew["outsider"].pk])
    with pytest.raises(InvalidInput, match="at most 3 members"):
        services.invite(user=crew["owner"], conversation_id=crew["group"].pk, invitee_id=crew["outsider"].pk)
    assert Membership.objects.filter(conversation=crew["group"]).count() == 3


def test_unknown_members_refused(db):
    olga = make_user("olga")
    with pytest.raises(NotFound):
        services.create_group(user=olga, title="G", member_ids=[987654])
    with pytest.raises(InvalidInput):
        services.create_group(user=olga, title="G", member_ids=["abc"])
    assert not Conversation.objects.exists()


def test_admin_adds_and_removes_members_with_system_messages(crew):
    group, adam, nina, mia = crew["group"], crew["admin"], crew["outsider"], crew["member"]
    services.add_members(user=adam, conversation_id=group.pk, user_ids=[nina.pk])
    assert roles(group)["nina"] == "member"
    services.remove_member(user=adam, conversation_id=group.pk, member_id=nina.pk)
    assert "nina" not in roles(group)
    assert system_lines(group)[-2:] == ["Adam Tester added Nina Tester", "Adam Tester removed Nina Tester"]
    with pytest.raises(InvalidInput):
        services.add_members(user=adam, conversation_id=group.pk, user_ids=[mia.pk])


def test_role_rules(crew):
    group, olga, adam, mia = crew["group"], crew["owner"], crew["admin"], crew["member"]
    with pytest.raises(NotAllowed):
        services.set_role(user=mia, conversation_id=group.pk, member_id=mia.pk, role="admin")
    with pytest.raises(NotAllowed):
        services.remove_member(user=adam, conversation_id=group.pk, member_id=olga.pk)
    with pytest.raises(NotAllowed):
        services.set_role(user=adam, conversation_id=group.pk, member_id=olga.pk, role="member")
    with pytest.raises(InvalidInput):
        services.set_role(user=olga, conversation_id=group.pk, member_id=mia.pk, role="owner")
    services.set_role(user=adam, conversation_id=group.pk, member_id=mia.pk, role="admin")
    with pytest.raises(NotAllowed, match="Only the owner can remove an admin"):
        services.remove_member(user=adam, conversation_id=group.pk, member_id=mia.pk)
    services.remove_member(user=olga, conversation_id=group.pk, member_id=mia.pk)
    assert roles(group) == {"olga": "owner", "adam": "admin"}


def test_transfer_ownership(crew):
    group, olga, adam, mia = crew["group"], crew["owner"], crew["admin"], crew["member"]
    with pytest.raises(NotAllowed):
        services.transfer_ownership(user=adam, conversation_id=group.pk, member_id=adam.pk)
    services.transfer_ownership(user=olga, conversation_id=group.pk, member_id=mia.pk)
    assert roles(group) == {"olga": "admin", "adam": "admin", "mia": "owner"}


def test_owner_leaving_hands_over_to_named_then_oldest_admin(crew):
    group, olga, adam, mia = crew["group"], crew["owner"], crew["admin"], crew["member"]
    with pytest.raises(InvalidInput):
        services.leave_group(user=olga, conversation_id=group.pk, new_owner_id=crew["outsider"].pk)
    services.leave_group(user=olga, conversation_id=group.pk)
    assert roles(group) == {"adam": "owner", "mia": "member"}
    services.leave_group(user=adam, conversation_id=group.pk, new_owner_id=mia.pk)
    assert roles(group) == {"mia": "owner"}
    assert system_lines(group)[-1] == "Adam Tester left; Mia Tester is the owner now"
    services.leave_group(user=mia, conversation_id=group.pk)
    assert not Conversation.objects.filter(pk=group.pk).exists()


def test_only_owner_deletes(crew):
    with pytest.raises(NotAllowed):
        services.delete_group(user=crew["admin"], conversation_id=crew["group"].pk)
    services.delete_group(user=crew["owner"], conversation_id=crew["group"].pk)
    assert not Conversation.objects.filter(pk=crew["group"].pk).exists()


def test_settings_by_admins_only_and_post_policy(crew):
    group, adam, mia = crew["group"], crew["admin"], crew["member"]
    with pytest.raises(NotAllowed):
        services.update_group(user=mia, conversation_id=group.pk, title="Mine now")
    with pytest.raises(InvalidInput):
        services.update_group(user=adam, conversation_id=group.pk, title="Crew", post_policy="nobody")
    services.update_group(user=adam, conversation_id=group.pk, title="Crew HQ", post_policy="admins")
    assert system_lines(group)[-1] == "Adam Tester renamed the group to “Crew HQ”, set “who may post” to admins only"
    with pytest.raises(NotAllowed, match="Only admins can post"):
        message_services.send_message(user=mia, conversation_id=group.pk, body="can I?")
    message_services.send_message(user=adam, conversation_id=group.pk, body="announcement")


def test_invitation_flow_accept_shows_recent_history(crew):
    group, olga, nina = crew["group"], crew["owner"], crew["outsider"]
    invitation = services.invite(user=olga, conversation_id=group.pk, invitee_id=nina.pk)
    with pytest.raises(InvalidInput, match="already been invited"):
        services.invite(user=olga, conversation_id=group.pk, invitee_id=nina.pk)
    with pytest.raises(NotFound):
        services.respond_to_invitation(user=crew["member"], invitation_id=invitation.pk, accept=True)
    services.respond_to_invitation(user=nina, invitation_id=invitation.pk, accept=True)
    membership = Membership.objects.select_related("conversation").get(conversation=group, user=nina)
    assert membership.role == "member" and membership.unread_count > 0  # recent history shows as new
    assert system_lines(group)[-1] == "Nina Tester joined"
    with pytest.raises(InvalidInput, match="already accepted"):
        services.respond_to_invitation(user=nina, invitation_id=invitation.pk, accept=True)


def test_invitation_decline_and_revoke(crew):
    group, olga, mia, nina = crew["group"], crew["owner"], crew["member"], crew["outsider"]
    first = services.invite(user=olga, conversation_id=group.pk, invitee_id=nina.pk)
    services.respond_to_invitation(user=nina, invitation_id=first.pk, accept=False)
    assert GroupInvitation.objects.get(pk=first.pk).status == "declined"
    second = services.invite(user=olga, conversation_id=group.pk, invitee_id=nina.pk)
    with pytest.raises(NotAllowed):
        services.revoke_invitation(user=mia, invitation_id=second.pk)
    services.revoke_invitation(user=crew["admin"], invitation_id=second.pk)
    assert GroupInvitation.objects.get(pk=second.pk).status == "revoked"
    assert not Membership.objects.filter(conversation=group, user=nina).exists()


def test_invite_policy(crew):
    group, mia, nina = crew["group"], crew["member"], crew["outsider"]
    with pytest.raises(NotAllowed, match="Only group admins can invite"):
        services.invite(user=mia, conversation_id=group.pk, invitee_id=nina.pk)
    services.update_group(user=crew["owner"], conversation_id=group.pk, title="Crew", invite_policy="everyone")
    services.invite(user=mia, conversation_id=group.pk, invitee_id=nina.pk)
    with pytest.raises(InvalidInput, match="already in the group"):
        services.invite(user=mia, conversation_id=group.pk, invitee_id=crew["admin"].pk)


def test_mentions_are_stored_highlighted_and_listed(crew):
    group, olga, adam, mia = crew["group"], crew["owner"], crew["admin"], crew["member"]
    message = message_services.send_message(user=mia, conversation_id=group.pk, body="hey @ADAM and @nobody").message
    assert list(Mention.objects.filter(message=message).values_list("user__username", flat=True)) == ["adam"]
    assert message.mention_ids == str(adam.pk)
    assert '<strong class="mention">@ADAM</strong>' in message.body_html and "@nobody" in message.body_html
    assert [m.pk for m in message_selectors.list_mentions(adam)] == [message.pk]
    assert message_selectors.list_mentions(olga) == []


def test_mention_all_is_admins_only_by_default(crew):
    group, olga, mia = crew["group"], crew["owner"], crew["member"]
    with pytest.raises(NotAllowed, match="@all"):
        message_services.send_message(user=mia, conversation_id=group.pk, body="@all hello")
    message = message_services.send_message(user=olga, conversation_id=group.pk, body="@all meeting at 5").message
    assert set(Mention.objects.filter(message=message).values_list("user__username", flat=True)) == {"adam", "mia"}
    assert message.mention_ids.startswith("all")


def test_removed_member_can_no_longer_read_or_send(crew):
    group, adam, mia = crew["group"], crew["admin"], crew["member"]
    services.remove_member(user=adam, conversation_id=group.pk, member_id=mia.pk)
    with pytest.raises(NotFound):
        message_services.send_message(user=mia, conversation_id=group.pk, body="still here?")
    with pytest.raises(NotFound):
        message_selectors.access_membership(mia, group.pk)


def test_only_the_owner_dismisses_admins(crew):
    group, olga, adam, mia = crew["group"], crew["owner"], crew["admin"], crew["member"]
    services.set_role(user=olga, conversation_id=group.pk, member_id=mia.pk, role="admin")
    with pytest.raises(NotAllowed, match="Only the owner can dismiss an admin"):
        services.set_role(user=adam, conversation_id=group.pk, member_id=mia.pk, role="member")
    services.set_role(user=olga, conversation_id=group.pk, member_id=mia.pk, role="member")
    assert roles(group)["mia"] == "member"


def test_bad_new_owner_is_a_clear_refusal(crew):
    with pytest.raises(InvalidInput):
        services.leave_group(user=crew["owner"], conversation_id=crew["group"].pk, new_owner_id="abc")
    assert roles(crew["group"])["olga"] == "owner"
