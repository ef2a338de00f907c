"""Every transition of a call and every refusal, through the services."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Notification
from calls import selectors, services
from calls.models import Call, CallParticipant
from chatsite.errors import ErrorCode, NotFound, ServiceError
from messaging import services as messaging_services
from messaging.models import Membership, Message

P = CallParticipant.Status



def status_of(call, user):
    return CallParticipant.objects.get(call=call, user=user).status


def call_messages(conversation):
    return list(Message.objects.filter(conversation=conversation, kind=Message.Kind.CALL).values_list("body", flat=True))


def refused(code, function, **kwargs):
    with pytest.raises(ServiceError) as caught:
        function(**kwargs)
    assert caught.value.code == code, caught.value.message
    return caught.value


def test_start_rings_the_other_person(alice, bob, direct):
    call = services.start_call(user=alice, conversation_id=direct.pk, kind="video")
    assert call.status == Call.Status.RINGING
    assert status_of(call, alice) == P.JOINED
    assert status_of(call, bob) == P.INVITED
    assert selectors.current_call_of(alice.pk) == call
    assert selectors.current_call_of(bob.pk) is None


def test_accept_then_hang_up_ends_with_a_call_message(alice, bob, direct):
    call = services.start_call(user=alice, conversation_id=direct.pk, kind="video")
    call = services.accept_call(user=bob, call_id=call.pk)
    assert call.status == Call.Status.ONGOING and call.answered_at is not None
    Call.objects.filter(pk=call.pk).update(answered_at=timezone.now() - timedelta(minutes=4))
    call = services.hang_up(user=alice, call_id=call.pk)
    assert call.status == Call.Status.ENDED and call.ended_at is not None
    assert status_of(call, alice) == status_of(call, bob) == P.LEFT
    assert call_messages(direct) == ["Video call, 4 min"]
    message = Message.objects.get(conversation=direct, kind=Message.Kind.CALL)
    assert message.sender == alice
    # Unread for bob, not for alice who placed the call.
    assert Membership.objects.get(conversation=direct, user=alice).unread_count == 0
    assert Membership.objects.get(conversation=direct, user=bob).unread_count == 1


def test_short_call_message_counts_seconds(alice, bob, direct):
    call = services.start_call(user=alice, conversation_id=direct.pk, kind="audio")
    services.accept_call(user=bob, call_id=call.pk)
    services.hang_up(user=bob, call_id=call.pk)
    (body,) = call_messages(direct)
    assert body.startswith("Audio call, ") and body.endswith(" s")


def test_decline(alice, bob, direct):
    call = services.start_call(user=alice, conversation_id=direct.pk, kind="audio")
    call = services.decline_call(user=bob, call_id=call.pk)
    assert call.status == Call.Status.DECLINED
    assert status_of(call, bob) == P.DECLINED and status_of(call, alice) == P.LEFT
    assert call_messages(direct) == ["Declined audio call"]
    assert selectors.current_call_of(alice.pk) is None


def test_caller_hanging_up_while_ringing_cancels(alice, bob, direct):
    call = services.start_call(user=alice, conversation_id=direct.pk, kind="audio")
    call = services.hang_up(user=alice, call_id=call.pk)
    assert call.status == Call.Status.CANCELLED
    assert status_of(call, bob) == P.MISSED
    assert call_messages(direct) == ["Cancelled audio call"]


def test_callee_hanging_up_while_ringing_declines(alice, bob, direct):
    call = services.start_call(user=alice, conversation_id=direct.pk, kind="audio")
    assert services.hang_up(user=bob, call_id=call.pk).status == Call.Status.DECLINED


def test_ring_timeout_makes_a_missed_call_and_notifies(alice, bob, direct, settings):
    settings.CALL_RING_SECONDS = 30
    call = services.start_call(user=alice, conversation_id=direct.pk, kind="audio")
    assert services.expire_ringing(now=call.started_at + timedelta(seconds=29)) == 0
    assert services.expire_ringing(now=call.started_at + timedelta(seconds=30)) == 1
    call.refresh_from_db()
    assert call.status == Call.Status.MISSED and call.ended_at is not None
    assert status_of(call, bob) == P.MISSED
    assert call_messages(direct) == ["Missed audio call"]
    notification = Notification.objects.get(recipient=bob, kind=Notification.Kind.MISSED_CALL)
    assert notification.actor == alice and notification.conversation_id == direct.pk
    assert "Alice" in notification.text
    assert not Notification.objects.filter(recipient=alice, kind=Notification.Kind.MISSED_CALL).exists()
    assert services.expire_ringing(now=call.started_at + timedelta(seconds=60)) == 0  # idempotent


def test_sweep_command(alice, bob, direct, settings):
    settings.CALL_RING_SECONDS = 1
    call = services.start_call(user=alice, conversation_id=direct.pk, kind="video")
    Call.objects.filter(pk=call.pk).update(started_at=timezone.now() - timedelta(seconds=5))
    call_command("sweep_calls")
    call.refresh_from_db()
    assert call.status == Call.Status.MISSED
    assert call_messages(direct) == ["Missed video call"]


def test_sweep_all_ends_every_active_call(alice, bob, carol, direct, group):
    ringing = services.start_call(user=alice, conversation_id=group.pk, kind="video")
    bob_carol = messaging_services.get_or_create_direct_conversation(user=bob, other_id=carol.pk)
    ongoing = services.start_call(user=bob, conversation_id=bob_carol.pk, kind="audio")
    services.accept_call(user=carol, call_id=ongoing.pk)
    call_command("sweep_calls", "--all")
    ringing.refresh_from_db()
    ongoing.refresh_from_db()
    assert ringing.status == Call.Status.MISSED
    assert ongoing.status == Call.Status.ENDED
    assert not Call.objects.filter(status__in=Call.ACTIVE).exists()


def test_busy_callee(alice, bob, carol, direct):
    bob_carol = messaging_services.get_or_create_direct_conversation(user=bob, other_id=carol.pk)
    first = services.start_call(user=bob, conversation_id=bob_carol.pk, kind="audio")
    call = services.start_call(user=alice, conversation_id=direct.pk, kind="video")
    assert call.status == Call.Status.BUSY and call.ended_at is not None
    assert status_of(call, bob) == P.BUSY
    assert call_messages(direct) == ["Missed video call (busy)"]
    assert Notification.objects.filter(recipient=bob, kind=Notification.Kind.MISSED_CALL).exists()
    assert selectors.current_call_of(bob.pk) == first
    assert selectors.current_call_of(alice.pk) is None


def test_caller_already_in_a_call_is_refused(alice, bob, carol, direct):
    alice_carol = messaging_services.get_or_create_direct_conversation(user=alice, other_id=carol.pk)
    services.start_call(user=alice, conversation_id=alice_carol.pk, kind="audio")
    refused(ErrorCode.BUSY, services.start_call, user=alice, conversation_id=direct.pk, kind="audio")


def test_second_call_in_one_chat_is_refused(alice, bob, direct):
    services.start_call(user=alice, conversation_id=direct.pk, kind="audio")
    refused(ErrorCode.BUSY, services.start_call, user=bob, conversation_id=direct.pk, kind="audio")


def test_callee_in_a_call_cannot_accept_another(alice, bob, carol, direct):
    call = services.start_call(user=alice, conversation_id=direct.pk, kind="audio")
    bob_carol = messaging_services.get_or_create_direct_conversation(user=carol, other_id=bob.pk)
    other = services.start_call(user=carol, conversation_id=bob_carol.pk, kind="audio")
    services.accept_call(user=bob, call_id=other.pk)
    refused(ErrorCode.BUSY, services.accept_call, user=bob, call_id=call.pk)


def test_double_answer_from_two_tabs(alice, bob, direct):
    call = services.start_call(user=alice, conversation_id=direct.pk, kind="audio")
    services.accept_call(user=bob, call_id=call.pk, connection="tab1")
    error = refused(ErrorCode.BUSY, services.accept_call, user=bob, call_id=call.pk, connection="tab2")
    assert "another tab" in error.message
    assert CallParticipant.objects.get(call=call, user=bob).connection == "tab1"


def test_non_member_cannot_see_accept_or_join(alice, bob, carol, direct):
    call = services.start_call(user=alice, conversation_id=direct.pk, kind="audio")
    for function in (services.accept_call, services.join_call, services.decline_call, services.hang_up):
        with pytest.raises(NotFound):
            function(user=carol, call_id=call.pk)
    refused(ErrorCode.NOT_MEMBER, services.start_call, user=carol, conversation_id=direct.pk, kind="audio")


def test_calling_someone_who_blocked_you(alice, bob, direct):
    account_services.block_user(user=bob, other_id=alice.pk)
    refused(ErrorCode.FRIENDS_ONLY, services.start_call, user=alice, conversation_id=direct.pk, kind="audio")
    refused(ErrorCode.BLOCKED, services.start_call, user=bob, conversation_id=direct.pk, kind="audio")
    assert not Call.objects.exists()


def test_bad_kind(alice, direct):
    refused(ErrorCode.INVALID, services.start_call, user=alice, conversation_id=direct.pk, kind="hologram")


def test_start_is_rate_limited(alice, bob, direct):
    for _ in range(10):  # START_RATE: 10 a minute
        call = services.start_call(user=alice, conversation_id=direct.pk, kind="audio")
        services.hang_up(user=alice, call_id=call.pk)
    refused(ErrorCode.RATE_LIMITED, services.start_call, user=alice, conversation_id=direct.pk, kind="audio")


def test_reload_disconnect_and_rejoin(alice, bob, direct):
    call = services.start_call(user=alice, conversation_id=direct.pk, kind="video", connection="a1")
    services.accept_call(user=bob, call_id=call.pk, connection="b1")
    services.disconnect(user=bob, call_ids=[call.pk], connection="b1")
    assert CallParticipant.objects.get(call=call, user=bob).disconnected_at is not None
    call = services.join_call(user=bob, call_id=call.pk, connection="b2")
    bob_part = CallParticipant.objects.get(call=call, user=bob)
    assert bob_part.status == P.JOINED and bob_part.disconnected_at is None and bob_part.connection == "b2"
    services.disconnect(user=bob, call_ids=[call.pk], connection="b1")  # the old page's late close
    assert CallParticipant.objects.get(call=call, user=bob).disconnected_at is None
    assert call.status == Call.Status.ONGOING


def test_gone_participant_is_dropped_and_the_call_ends(alice, bob, direct, settings):
    settings.CALL_RECONNECT_SECONDS = 30
    call = services.start_call(user=alice, conversation_id=direct.pk, kind="video", connection="a1")
    services.accept_call(user=bob, call_id=call.pk, connection="b1")
    services.disconnect(user=bob, call_ids=[call.pk], connection="b1")
    gone_at = CallParticipant.objects.get(call=call, user=bob).disconnected_at
    assert services.drop_disconnected(now=gone_at + timedelta(seconds=10)) == 0
    assert services.sweep_calls(now=gone_at + timedelta(seconds=31)) == {"missed": 0, "dropped": 1}
    call.refresh_from_db()
    assert call.status == Call.Status.ENDED
    assert len(call_messages(direct)) == 1


def test_direct_call_cannot_be_rejoined_once_left(alice, bob, direct):
    call = services.start_call(user=alice, conversation_id=direct.pk, kind="audio")
    services.accept_call(user=bob, call_id=call.pk)
    services.hang_up(user=bob, call_id=call.pk)
    refused(ErrorCode.BUSY, services.join_call, user=bob, call_id=call.pk)


def test_hang_up_twice_is_refused(alice, bob, direct):
    call = services.start_call(user=alice, conversation_id=direct.pk, kind="audio")
    services.hang_up(user=alice, call_id=call.pk)
    refused(ErrorCode.BUSY, services.hang_up, user=alice, call_id=call.pk)
    refused(ErrorCode.BUSY, services.decline_call, user=bob, call_id=call.pk)


# --- group calls ------------------------------------------------------------------------------------

def test_group_call_join_leave_and_end_with_the_last(alice, bob, carol, group):
    call = services.start_call(user=alice, conversation_id=group.pk, kind="video")
    assert status_of(call, bob) == status_of(call, carol) == P.INVITED
    services.accept_call(user=bob, call_id=call.pk)
    assert Call.objects.get(pk=call.pk).status == Call.Status.ONGOING
    assert status_of(call, carol) == P.INVITED  # still rung
    services.decline_call(user=carol, call_id=call.pk)
    services.hang_up(user=alice, call_id=call.pk)  # alice leaves; bob stays
    assert Call.objects.get(pk=call.pk).status == Call.Status.ONGOING
    services.join_call(user=carol, call_id=call.pk)  # carol changes her mind
    services.join_call(user=alice, call_id=call.pk)  # and alice rejoins
    assert selectors.joined_ids(call.pk) == {alice.pk, bob.pk, carol.pk}
    for person in (alice, bob, carol):
        services.hang_up(user=person, call_id=call.pk)
    call.refresh_from_db()
    assert call.status == Call.Status.ENDED
    assert len(call_messages(group)) == 1


def test_group_ringing_ends_declined_when_everyone_declines(alice, bob, carol, group):
    call = services.start_call(user=alice, conversation_id=group.pk, kind="audio")
    services.decline_call(user=bob, call_id=call.pk)
    assert Call.objects.get(pk=call.pk).status == Call.Status.RINGING
    services.decline_call(user=carol, call_id=call.pk)
    assert Call.objects.get(pk=call.pk).status == Call.Status.DECLINED


def test_group_member_still_rung_misses_after_the_timeout(alice, bob, carol, group, settings):
    settings.CALL_RING_SECONDS = 30
    call = services.start_call(user=alice, conversation_id=group.pk, kind="audio")
    services.accept_call(user=bob, call_id=call.pk)
    assert services.expire_ringing(now=call.started_at + timedelta(seconds=31)) == 1
    assert Call.objects.get(pk=call.pk).status == Call.Status.ONGOING
    assert status_of(call, carol) == P.MISSED
    assert Notification.objects.filter(recipient=carol, kind=Notification.Kind.MISSED_CALL).exists()
    services.join_call(user=carol, call_id=call.pk)  # she may still join
    assert status_of(call, carol) == P.JOINED


def test_group_call_is_full_beyond_the_mesh_size(alice, bob, carol, group, settings):
    settings.CALL_MAX_PARTICIPANTS = 2
    call = services.start_call(user=alice, conversation_id=group.pk, kind="video")
    services.accept_call(user=bob, call_id=call.pk)
    error = refused(ErrorCode.CALL_FULL, services.accept_call, user=carol, call_id=call.pk)
    assert "at most 2 people" in error.message
    assert status_of(call, carol) == P.INVITED


def test_group_member_in_another_call_is_busy_and_not_rung(alice, bob, carol, dan, group):
    bob_dan = messaging_services.get_or_create_direct_conversation(user=dan, other_id=bob.pk)
    other = services.start_call(user=dan, conversation_id=bob_dan.pk, kind="audio")
    services.accept_call(user=bob, call_id=other.pk)
    call = services.start_call(user=alice, conversation_id=group.pk, kind="audio")
    assert call.status == Call.Status.RINGING
    assert status_of(call, bob) == P.BUSY
    assert status_of(call, carol) == P.INVITED


def test_turn_credentials_in_the_coturn_rest_scheme(settings):
    import base64
    import hashlib
    import hmac

    from calls.ice import ice_servers_for, turn_credentials

    settings.ICE_SERVERS = [{"urls": ["stun:stun.example.com:3478"]}]
    settings.TURN_SECRET, settings.TURN_URLS, settings.TURN_TTL_SECONDS = "s3cret", ["turn:turn.example.com:3478"], 600
    server = turn_credentials(42, now=1_000_000)
    assert server["username"] == "1000600:42"
    expected = base64.b64encode(hmac.new(b"s3cret", b"1000600:42", hashlib.sha1).digest()).decode()
    assert server["credential"] == expected and server["urls"] == ["turn:turn.example.com:3478"]
    assert len(ice_servers_for(42)) == 2
    settings.TURN_SECRET = ""
    assert ice_servers_for(42) == [{"urls": ["stun:stun.example.com:3478"]}]


def test_the_worker_sweeps_calls_as_a_periodic_job(settings):
    from chatsite import tasks

    jobs = {job.name: job for job in tasks.periodic_jobs()}
    assert jobs["sweep_calls"].every_setting == "CALL_SWEEP_EVERY_MINUTES"
    settings.CALL_SWEEP_EVERY_MINUTES = 0.25
    assert jobs["sweep_calls"].every.total_seconds() == 15


def test_a_missed_call_is_in_the_email_digest(alice, bob, direct, mailoutbox):
    from accounts.models import User
    from messaging.digests import send_digests

    call = services.start_call(user=alice, conversation_id=direct.pk, kind="video")
    services.expire_ringing(now=call.started_at + timedelta(seconds=60))
    User.objects.filter(pk=bob.pk).update(last_seen=timezone.now() - timedelta(hours=3))

    assert send_digests() == 1

    [email] = mailoutbox
    assert email.to == ["bob@example.com"]
    assert "Missed calls:" in email.body
    assert Notification.objects.get(recipient=bob, kind=Notification.Kind.MISSED_CALL).text in email.body
