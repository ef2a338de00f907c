"""accounts.policy: who may contact whom, and what one person sees of another, in one table of
rules. Ana blocked Eve throughout; Cy is a stranger to both, Fay is Ana's friend."""

import pytest
from django.db import transaction

from accounts import policy, services
from accounts.models import FriendRequest
from chatsite.errors import ErrorCode, NotAllowed
from conftest import make_user
from groups import services as group_services
from messaging import services as message_services
from messaging import store

pytestmark = pytest.mark.django_db


def befriend(one, other):
    request = services.send_friend_request(user=one, to_id=other.pk)
    services.respond_to_friend_request(user=other, request_id=request.pk, accept=True)


def refusal(call, *args, **kwargs) -> tuple[str, str]:
    with pytest.raises(NotAllowed) as refused:
        call(*args, **kwargs)
    return str(refused.value.code), refused.value.message


def test_a_block_is_named_to_the_blocker_and_hidden_from_the_blocked(ana, eve):
    services.block_user(user=ana, other_id=eve.pk)
    assert refusal(policy.check_direct_message, ana, eve.pk) == (
        ErrorCode.BLOCKED, "You blocked Eve Moss. Unblock them to chat.")
    # Eve hears what any stranger hears from someone who accepts chats from friends only.
    assert refusal(policy.check_direct_message, eve, ana.pk) == (
        ErrorCode.FRIENDS_ONLY, "Ana Lima accepts chats from friends only. Send a friend request first.")
    opening, starting = (refusal(policy.check_direct_chat, eve, ana, exists=e) for e in (True, False))
    assert opening == starting


def test_friends_only_is_about_starting_contact(ana, cy):
    services.update_settings(user=ana, direct_messages_from="friends", hide_last_seen=False, email_digest=True)
    assert refusal(policy.check_direct_chat, cy, ana, exists=False) == (
        ErrorCode.FRIENDS_ONLY, "Ana Lima accepts chats from friends only. Send a friend request first.")
    policy.check_direct_chat(cy, ana, exists=True)  # a chat they already have stays usable
    policy.check_direct_message(cy, ana.pk)
    befriend(cy, ana)
    policy.check_direct_chat(cy, ana, exists=False)


def test_the_send_paths_flag_is_read_by_the_policy_without_a_second_query(ana, eve, django_assert_num_queries):
    chat = message_services.get_or_create_direct_conversation(user=eve, other_id=ana.pk)
    group = group_services.create_group(user=ana, title="Crew", member_ids=[eve.pk])
    with transaction.atomic():
        assert store.lock_membership(conversation_id=chat.pk, user_id=eve.pk)[1] is False
    services.block_user(user=ana, other_id=eve.pk)
    with transaction.atomic():
        assert store.lock_membership(conversation_id=chat.pk, user_id=eve.pk)[1] is True
        assert store.lock_membership(conversation_id=chat.pk, user_id=ana.pk)[1] is True  # either way
        assert store.lock_membership(conversation_id=group.pk, user_id=eve.pk)[1] is False  # groups stay usable
    with django_assert_num_queries(0):
        policy.check_direct_message(eve, ana.pk, blocked=False)
    assert refusal(policy.check_direct_message, eve, ana.pk, blocked=True)[0] == ErrorCode.FRIENDS_ONLY


def test_calls_follow_the_direct_chat(ana, eve, cy):
    services.block_user(user=ana, other_id=eve.pk)
    assert refusal(policy.check_call, ana, eve, share_direct_chat=True) == (
        ErrorCode.BLOCKED, "You blocked Eve Moss. Unblock them to call.")
    assert refusal(policy.check_call, eve, ana, share_direct_chat=True) == (
        ErrorCode.FRIENDS_ONLY, "Ana Lima accepts calls from friends only. Send a friend request first.")
    policy.check_call(cy, ana, share_direct_chat=False)
    services.update_settings(user=ana, direct_messages_from="friends", hide_last_seen=False, email_digest=True)
    assert refusal(policy.check_call, cy, ana, share_direct_chat=False)[0] == ErrorCode.FRIENDS_ONLY
    policy.check_call(cy, ana, share_direct_chat=True)


def test_groups_take_nobody_across_a_block_either_way(ana, eve, cy, django_assert_max_num_queries):
    services.block_user(user=ana, other_id=eve.pk)
    assert refusal(policy.check_group_add, ana, [cy, eve]) == (
        ErrorCode.BLOCKED, "You blocked Eve Moss. Unblock them to add them to a group.")
    assert refusal(policy.check_group_add, eve, [cy, ana]) == (
        ErrorCode.FRIENDS_ONLY, "Only friends of Ana Lima can add or invite them to a group.")
    with django_assert_max_num_queries(1):  # nobody accepts friends only: the friendships are not read
        policy.check_group_add(cy, [ana, eve])
    # And through the group services, for creating, adding and inviting alike.
    group = group_services.create_group(user=ana, title="Crew", member_ids=[cy.pk])
    assert refusal(group_services.invite, user=ana, conversation_id=group.pk, invitee_id=eve.pk)[0] == ErrorCode.BLOCKED
    code, _ = refusal(group_services.add_members, user=ana, conversation_id=group.pk, user_ids=[eve.pk])
    assert code == ErrorCode.BLOCKED
    code, _ = refusal(group_services.create_group, user=eve, title="Sneaky", member_ids=[ana.pk])
    assert code == ErrorCode.FRIENDS_ONLY
    assert not group.memberships.filter(user=eve).exists()


def test_friend_requests_across_a_block(ana, eve):
    services.block_user(user=ana, other_id=eve.pk)
    assert refusal(policy.may_befriend, ana, eve) == (ErrorCode.BLOCKED, "You blocked Eve Moss. Unblock them first.")
    assert policy.may_befriend(eve, ana) is False  # no error: the request must seem sent
    assert services.send_friend_request(user=eve, to_id=ana.pk) is None
    assert not FriendRequest.objects.exists()
    services.unblock_user(user=ana, other_id=eve.pk)
    assert policy.may_befriend(eve, ana) is True


def test_presence_is_for_friends_and_people_who_share_a_chat_never_across_a_block(ana, eve, cy):
    fay = make_user("fay")
    befriend(ana, fay)
    assert policy.may_see_presence(ana.pk, ana.pk)
    assert policy.may_see_presence(fay.pk, ana.pk)
    assert not policy.may_see_presence(cy.pk, ana.pk)
    group_services.create_group(user=ana, title="Crew", member_ids=[cy.pk, eve.pk])
    assert policy.may_see_presence(cy.pk, ana.pk)  # messaging told the policy who shares a chat
    services.block_user(user=ana, other_id=eve.pk)
    assert not policy.may_see_presence(eve.pk, ana.pk) and not policy.may_see_presence(ana.pk, eve.pk)


def test_typing_and_receipts_across_a_block(ana, eve, cy):
    services.block_user(user=ana, other_id=eve.pk)
    assert not policy.may_see_typing(eve.pk, ana.pk) and not policy.may_see_typing(ana.pk, eve.pk)
    assert policy.may_see_typing(cy.pk, ana.pk)
    assert not policy.may_see_receipts(eve.pk, ana.pk, direct=True)
    assert policy.may_see_receipts(eve.pk, ana.pk, direct=False)  # a group's "seen by" is shared by all
    # The bulk forms the live events use: nothing in the direct chat, the estranged left out in a group.
    assert policy.typing_audience(ana.pk, direct_with=eve.pk) == policy.Audience(publish=False)
    assert policy.typing_audience(ana.pk, direct_with=cy.pk) == policy.Audience()
    assert policy.typing_audience(ana.pk, direct_with=None).routing() == {"exclude_user_ids": [eve.pk]}
    assert policy.receipt_audience(eve.pk, direct_with=ana.pk).publish is False
    assert policy.receipt_audience(eve.pk, direct_with=None) == policy.Audience()
    assert policy.presence_audience(eve.pk).routing() == {"exclude_user_ids": [ana.pk]}
    assert policy.presence_audience(cy.pk).routing() == {}


def test_mentions_do_not_notify_someone_who_blocked_the_sender(ana, eve, cy):
    services.block_user(user=ana, other_id=eve.pk)
    assert policy.blocker_ids(eve.pk, among=[ana.pk, cy.pk]) == {ana.pk}
    assert policy.blocker_ids(ana.pk, among=[eve.pk, cy.pk]) == set()
