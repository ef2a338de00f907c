"""Friend requests, friendships and blocks: every transition and every refusal."""

import pytest

from accounts import services
from accounts.models import Block, FriendRequest, Friendship, Notification
from accounts.selectors import are_friends
from chatsite.errors import InvalidInput, NotAllowed, NotFound
from conftest import make_user
from groups import services as group_services
from messaging import services as message_services
from messaging.models import Conversation, Message

pytestmark = pytest.mark.django_db


def test_request_accept_makes_friends_and_notifies_both_ways(ana, bo):
    request = services.send_friend_request(user=ana, to_id=bo.pk, note="We met at the meetup")
    assert request.status == "pending" and request.note == "We met at the meetup"
    assert Notification.objects.get(recipient=bo).text == "Ana Lima wants to be your friend: “We met at the meetup”"
    services.respond_to_friend_request(user=bo, request_id=request.pk, accept=True)
    assert are_friends(ana.pk, bo.pk) and are_friends(bo.pk, ana.pk)
    assert Notification.objects.get(recipient=bo).read_at is not None  # answered: no longer waiting in the bell
    assert Notification.objects.get(recipient=ana).kind == "friend_accepted"


def test_double_request_is_idempotent(ana, bo):
    first = services.send_friend_request(user=ana, to_id=bo.pk)
    second = services.send_friend_request(user=ana, to_id=bo.pk)
    assert first.pk == second.pk and FriendRequest.objects.count() == 1
    assert Notification.objects.filter(recipient=bo).count() == 1


def test_crossing_requests_become_a_friendship(ana, bo):
    services.send_friend_request(user=ana, to_id=bo.pk)
    services.send_friend_request(user=bo, to_id=ana.pk)
    assert are_friends(ana.pk, bo.pk)
    assert FriendRequest.objects.get().status == "accepted"


def test_only_the_recipient_can_answer_and_only_the_sender_can_cancel(ana, bo):
    carol = make_user("carol")
    request = services.send_friend_request(user=ana, to_id=bo.pk)
    for user in (ana, carol):
        with pytest.raises(NotFound):
            services.respond_to_friend_request(user=user, request_id=request.pk, accept=True)
    for user in (bo, carol):
        with pytest.raises(NotFound):
            services.cancel_friend_request(user=user, request_id=request.pk)
    assert FriendRequest.objects.get().status == "pending" and not Friendship.objects.exists()


def test_answers_are_idempotent_but_not_reversible(ana, bo):
    request = services.send_friend_request(user=ana, to_id=bo.pk)
    services.respond_to_friend_request(user=bo, request_id=request.pk, accept=False)
    services.respond_to_friend_request(user=bo, request_id=request.pk, accept=False)
    with pytest.raises(InvalidInput, match="already rejected"):
        services.respond_to_friend_request(user=bo, request_id=request.pk, accept=True)
    assert not Friendship.objects.exists()
    again = services.send_friend_request(user=ana, to_id=bo.pk)  # a new request may follow a rejection
    services.cancel_friend_request(user=ana, request_id=again.pk)
    services.cancel_friend_request(user=ana, request_id=again.pk)
    assert FriendRequest.objects.get(pk=again.pk).status == "cancelled"


def test_self_request_and_already_friends_are_refused(ana, bo):
    with pytest.raises(InvalidInput):
        services.send_friend_request(user=ana, to_id=ana.pk)
    services.respond_to_friend_request(user=bo, request_id=services.send_friend_request(user=ana, to_id=bo.pk).pk, accept=True)
    with pytest.raises(InvalidInput, match="already friends"):
        services.send_friend_request(user=ana, to_id=bo.pk)
    with pytest.raises(InvalidInput, match="at most 200"):
        services.send_friend_request(user=ana, to_id=make_user("zed").pk, note="x" * 201)


def test_request_to_a_blocker_seems_sent_but_nothing_is_stored(ana, bo):
    services.block_user(user=bo, other_id=ana.pk)
    assert services.send_friend_request(user=ana, to_id=bo.pk) is None  # no error that would reveal the block
    with pytest.raises(NotAllowed, match="Unblock them first"):
        services.send_friend_request(user=bo, to_id=ana.pk)
    assert not FriendRequest.objects.exists() and not Notification.objects.exists()


def test_block_ends_friendship_and_pending_requests_and_unblock_restores_contact(ana, bo):
    services.respond_to_friend_request(user=bo, request_id=services.send_friend_request(user=ana, to_id=bo.pk).pk, accept=True)
    carol = make_user("carol")
    services.send_friend_request(user=carol, to_id=bo.pk)
    services.block_user(user=bo, other_id=ana.pk)
    services.block_user(user=bo, other_id=ana.pk)  # idempotent
    assert Block.objects.count() == 1 and not are_friends(ana.pk, bo.pk)
    services.unblock_user(user=bo, other_id=ana.pk)
    services.unblock_user(user=bo, other_id=ana.pk)
    assert not Block.objects.exists()
    services.send_friend_request(user=ana, to_id=bo.pk)


def test_unfriend(ana, bo):
    services.respond_to_friend_request(user=bo, request_id=services.send_friend_request(user=ana, to_id=bo.pk).pk, accept=True)
    services.unfriend(user=ana, other_id=bo.pk)
    services.unfriend(user=ana, other_id=bo.pk)
    assert not are_friends(ana.pk, bo.pk)


def test_blocked_user_cannot_start_or_continue_a_direct_chat(ana, bo):
    chat = message_services.get_or_create_direct_conversation(user=ana, other_id=bo.pk)
    message_services.send_message(user=ana, conversation_id=chat.pk, body="hi")
    services.block_user(user=bo, other_id=ana.pk)
    with pytest.raises(NotAllowed) as refused:
        message_services.send_message(user=ana, conversation_id=chat.pk, body="hello?")
    assert refused.value.message == "Bo Berg accepts chats from friends only. Send a friend request first."
    with pytest.raises(NotAllowed, match="You blocked Ana Lima"):
        message_services.send_message(user=bo, conversation_id=chat.pk, body="go away")
    Conversation.objects.filter(pk=chat.pk).delete()
    with pytest.raises(NotAllowed):
        message_services.get_or_create_direct_conversation(user=ana, other_id=bo.pk)
    assert Message.objects.count() == 0 and Conversation.objects.count() == 0


def test_friends_only_setting(ana, bo):
    services.update_settings(user=bo, direct_messages_from="friends", hide_last_seen=False, email_digest=True)
    with pytest.raises(NotAllowed, match="friends only"):
        message_services.get_or_create_direct_conversation(user=ana, other_id=bo.pk)
    services.respond_to_friend_request(user=bo, request_id=services.send_friend_request(user=ana, to_id=bo.pk).pk, accept=True)
    assert message_services.get_or_create_direct_conversation(user=ana, other_id=bo.pk).kind == "direct"


def test_blocked_user_cannot_invite_or_add_me_to_groups(ana, bo):
    group = group_services.create_group(user=ana, title="Crew")
    services.block_user(user=bo, other_id=ana.pk)
    with pytest.raises(NotAllowed) as refused:
        group_services.invite(user=ana, conversation_id=group.pk, invitee_id=bo.pk)
    # The same words a friends-only person's strangers hear: the block stays secret.
    assert refused.value.message == "Only friends of Bo Berg can add or invite them to a group."
    with pytest.raises(NotAllowed):
        group_services.add_members(user=ana, conversation_id=group.pk, user_ids=[bo.pk])
    with pytest.raises(NotAllowed):
        group_services.create_group(user=ana, title="Sneaky", member_ids=[bo.pk])
    assert not group.memberships.filter(user=bo).exists()


def test_blocked_peoples_messages_are_collapsed_for_me_in_shared_groups(client, ana, bo):
    group = group_services.create_group(user=ana, title="Crew", member_ids=[bo.pk])
    message_services.send_message(user=ana, conversation_id=group.pk, body="hello group")
    services.block_user(user=bo, other_id=ana.pk)
    client.force_login(bo)
    page = client.get(f"/c/{group.pk}/").content.decode()
    assert f'.msg[data-sender-id="{ana.pk}"] .msg-bubble > :not(.msg-meta):not(.msg-blocked-note) {{ display: none; }}' in page
    assert "Message from someone you blocked." in page


def test_friends_only_people_cannot_be_put_in_groups_by_strangers(ana, bo):
    services.update_settings(user=bo, direct_messages_from="friends", hide_last_seen=False, email_digest=True)
    with pytest.raises(NotAllowed, match="Only friends of Bo Berg"):
        group_services.create_group(user=ana, title="Spam", member_ids=[bo.pk])
    group = group_services.create_group(user=ana, title="Crew")
    with pytest.raises(NotAllowed):
        group_services.add_members(user=ana, conversation_id=group.pk, user_ids=[bo.pk])
    services.respond_to_friend_request(user=bo, request_id=services.send_friend_request(user=ana, to_id=bo.pk).pk, accept=True)
    group_services.add_members(user=ana, conversation_id=group.pk, user_ids=[bo.pk])
    assert group.memberships.filter(user=bo).exists()
