"""Web Push end to end against a push service on 127.0.0.1 (push_service.py) that checks the VAPID
signature and decrypts what each device would show."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from accounts import push
from accounts.models import PushSubscription
from accounts.services import block_user, send_friend_request
from chatsite.errors import InvalidInput
from chatsite.models import TaskKey
from conftest import make_user
from messaging import services as messaging

from .push_service import PushService

# Pushes are decided after the commit: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def service(settings):
    service = PushService(subject=settings.VAPID_SUBJECT, server_key=push.application_server_key()).start()
    yield service
    service.stop()
    assert not service.refused, service.refused  # every push the site made was signed and encrypted right


def subscribe(user, device, user_agent="Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36"):
    keys = device.subscription["keys"]
    return push.subscribe(user=user, endpoint=device.endpoint, p256dh=keys["p256dh"], auth=keys["auth"],
                          user_agent=push.device_label(user_agent))


def test_a_message_reaches_every_device_of_the_recipient_with_sender_and_preview(service, alice, bob, direct, send):
    phone, laptop = service.device("phone"), service.device("laptop")
    subscribe(bob, phone)
    subscribe(bob, laptop)
    subscribe(alice, service.device("alice-phone"))
    send(alice, "Lunch at noon?")
    expected = {"type": "show", "kind": "message", "title": "Alice Archer", "body": "Lunch at noon?",
                "url": f"/c/{direct.pk}/", "tag": f"chat-{direct.pk}"}
    assert service.messages("phone") == [expected]
    assert service.messages("laptop") == [expected]
    assert service.messages("alice-phone") == []  # not to the sender's own devices
    assert PushSubscription.objects.get(endpoint=phone.endpoint).last_used_at is not None


def test_private_previews_hold_no_text(service, alice, bob, send):
    bob.push_private_previews = True
    bob.save()
    subscribe(bob, service.device("phone"))
    send(alice, "The door code is 4711")
    [shown] = service.messages("phone")
    assert shown["title"] == "New message" and shown["body"] == ""
    assert "4711" not in str(shown) and "Alice" not in str(shown)


def _group(owner, *members, title="Hikers"):
    from groups.services import create_group

    return create_group(user=owner, title=title, member_ids=[m.pk for m in members])


def test_a_muted_chat_pushes_nothing_but_a_mention_in_it_does(service, alice, bob):
    group = _group(alice, bob)
    subscribe(bob, service.device("phone"))
    messaging.set_conversation_flags(user=bob, conversation_id=group.pk, muted=True)
    messaging.send_message(user=alice, conversation_id=group.pk, body="anyone up for Sunday?")
    assert service.messages("phone") == []
    messaging.send_message(user=alice, conversation_id=group.pk, body="@bob you in?")
    [shown] = service.messages("phone")
    assert shown["kind"] == "mention" and shown["title"] == "Alice Archer mentioned you in Hikers"
    assert shown["body"] == "@bob you in?"


def test_a_mention_pushes_once_not_as_a_mention_and_a_message(service, alice, bob):
    group = _group(alice, bob)
    subscribe(bob, service.device("phone"))
    messaging.send_message(user=alice, conversation_id=group.pk, body="@bob look")
    assert [m["kind"] for m in service.messages("phone")] == ["mention"]


def test_a_blocked_sender_pushes_nothing(service, alice, bob):
    group = _group(alice, bob)
    subscribe(bob, service.device("phone"))
    block_user(user=bob, other_id=alice.pk)
    messaging.send_message(user=alice, conversation_id=group.pk, body="hello group")
    messaging.send_message(user=alice, conversation_id=group.pk, body="@bob hello")
    assert service.messages("phone") == []


def test_a_gone_subscription_is_deleted(service, alice, bob, send):
    phone = service.device("phone")
    subscribe(bob, phone)
    service.answers["phone"] = [410]
    send(alice, "hi")
    assert not PushSubscription.objects.filter(endpoint=phone.endpoint).exists()
    send(alice, "still there?")  # nothing more is tried (the service would record it)
    assert service.messages("phone") == []


def test_a_failed_push_is_retried_and_delivered_once(service, alice, bob, send, caplog):
    subscribe(bob, service.device("phone"))
    subscribe(bob, service.device("laptop"))
    service.answers["phone"] = [503, 500]
    send(alice, "are you there")
    # The laptop took it at once and is not pushed again by the retries; the phone on the third try.
    assert [m["body"] for m in service.messages("laptop")] == ["are you there"]
    assert [m["body"] for m in service.messages("phone")] == ["are you there"]
    assert "attempt 2 of 6 failed" in caplog.text


def test_a_push_service_that_never_recovers_fails_the_task_for_good(service, alice, bob, send, caplog):
    subscribe(bob, service.device("phone"))
    service.answers["phone"] = [500] * 7
    send(alice, "lost")
    assert service.messages("phone") == [] and service.answers["phone"] == [500]  # six attempts, no more
    assert "deliver_push failed for good after 6 attempt(s)" in caplog.text


def test_quiet_hours_hold_pushes_in_the_persons_time_zone(service, alice, bob, send):
    subscribe(bob, service.device("phone"))
    bob.time_zone = "Asia/Tokyo"
    local = timezone.now().astimezone(push.user_zone(bob))
    bob.quiet_hours_start = (local - timedelta(hours=1)).time().replace(microsecond=0)
    bob.quiet_hours_end = (local + timedelta(hours=1)).time().replace(microsecond=0)
    bob.save()
    send(alice, "late night thought")
    assert service.messages("phone") == []
    bob.quiet_hours_start, bob.quiet_hours_end = bob.quiet_hours_end, (local + timedelta(hours=2)).time()
    bob.save()
    send(alice, "good morning")
    assert [m["body"] for m in service.messages("phone")] == ["good morning"]


@pytest.mark.parametrize("start, end, at, quiet", [
    (time(22), time(7), time(23, 30), True), (time(22), time(7), time(6, 59), True),
    (time(22), time(7), time(7), False), (time(9), time(17), time(12), True), (time(9), time(17), time(8), False),
    (time(9), time(9), time(9), False),
])
def test_quiet_hours_across_midnight(bob, start, end, at, quiet):
    bob.quiet_hours_start, bob.quiet_hours_end, bob.time_zone = start, end, "UTC"
    now = timezone.now().replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    assert push.in_quiet_hours(bob, now=now) is quiet


def test_a_device_with_a_visible_tab_gets_no_push_and_its_other_devices_do(service, alice, bob, send):
    phone, laptop = service.device("phone"), service.device("laptop")
    subscribe(bob, phone)
    subscribe(bob, laptop)
    push.report_device(user=bob, endpoint=laptop.endpoint, visible=True)
    push.report_device(user=alice, endpoint=phone.endpoint, visible=True)  # not alice's to silence
    send(alice, "one")
    assert service.messages("laptop") == [] and len(service.messages("phone")) == 1
    push.report_device(user=bob, endpoint=laptop.endpoint, visible=False)
    send(alice, "two")
    assert [m["body"] for m in service.messages("laptop")] == ["two"]


def test_the_same_message_never_pushes_twice_to_a_device(service, alice, bob, send):
    subscribe(bob, service.device("phone"))
    message = send(alice, "once")
    from accounts.tasks import deliver_push

    content = {"kind": "message", "title": "Alice Archer", "body": "once", "conversation_id": message.conversation_id}
    assert deliver_push.call(user_ids=[bob.pk], content=content, key=f"message:{message.pk}", actor_id=alice.pk) == 0
    assert len(service.messages("phone")) == 1
    assert TaskKey.objects.filter(key__startswith=f"push:message:{message.pk}:").count() == 1


def test_reading_the_chat_closes_its_notifications_on_every_device(service, alice, bob, direct, send):
    subscribe(bob, service.device("phone"))
    subscribe(bob, service.device("laptop"))
    message = send(alice, "read me")
    messaging.mark_read(user=bob, conversation_id=direct.pk, seq=message.seq)
    close = {"type": "close", "tag": f"chat-{direct.pk}"}
    assert service.messages("phone")[-1] == close and service.messages("laptop")[-1] == close
    messaging.mark_read(user=bob, conversation_id=direct.pk, seq=message.seq)  # nothing more to close
    assert len(service.messages("phone")) == 2


def test_friend_requests_invitations_and_missed_calls_push(service, alice, bob, direct):
    from calls.services import hang_up, start_call
    from groups.services import invite

    subscribe(bob, service.device("phone"))
    send_friend_request(user=alice, to_id=bob.pk)
    group = _group(alice, title="Climbers")
    invite(user=alice, conversation_id=group.pk, invitee_id=bob.pk)
    call = start_call(user=alice, conversation_id=direct.pk, kind="audio")
    hang_up(user=alice, call_id=call.pk)
    shown = service.messages("phone")
    assert [(m["kind"], m["title"]) for m in shown] == [
        ("friend_request", "Alice Archer"), ("group_invitation", "Alice Archer"), ("missed_call", "Alice Archer")]
    assert shown[0]["body"] == "Alice Archer wants to be your friend"
    assert shown[1]["body"] == "Alice Archer invited you to the group “Climbers”" and shown[1]["url"] == "/invitations/"
    assert shown[2]["body"] == "Missed audio call from Alice Archer" and shown[2]["tag"] == f"chat-{direct.pk}"


def test_nobody_subscribed_costs_a_message_no_query_of_its_own(alice, bob, direct, send, django_assert_num_queries):
    """The send path's member query says who has a subscription; a mention of someone outside it
    (a muted member) costs one query."""
    message = send(alice, "hello")
    with django_assert_num_queries(0):
        messaging._push(message, set(), {bob.pk: False})
    with django_assert_num_queries(1):
        messaging._push(message, {bob.pk}, {})
    with django_assert_num_queries(1):
        push.queue_push(audiences=[([bob.pk], {"kind": "message", "title": "t"})], key="k", actor_id=alice.pk)


def test_deleting_an_account_forgets_its_devices(service, bob):
    from accounts.services import delete_account

    subscribe(bob, service.device("phone"))
    delete_account(user=bob)
    assert not PushSubscription.objects.exists()


def test_subscribing_again_updates_the_device_and_unsubscribe_removes_it(service, alice, bob):
    phone = service.device("phone")
    subscribe(bob, phone)
    subscribe(alice, phone)  # the same browser, now signed in as alice
    assert list(PushSubscription.objects.values_list("user__username", "user_agent")) == [("alice", "Chrome on Android")]
    assert push.unsubscribe(user=bob, endpoint=phone.endpoint) is False
    assert push.unsubscribe(user=alice, endpoint=phone.endpoint) is True
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize("change, field", [
    ({"endpoint": "http://push.example.com/x"}, "endpoint"), ({"endpoint": "javascript:alert(1)"}, "endpoint"),
    ({"p256dh": "AAAA"}, "p256dh"), ({"auth": "not base64 at all!"}, "auth"), ({"p256dh": None}, "p256dh"),
])
def test_a_bad_subscription_is_refused_and_nothing_is_stored(service, bob, change, field):
    device = service.device("phone")
    fields = {"endpoint": device.endpoint, **device.subscription["keys"], **change}
    with pytest.raises(InvalidInput) as refused:
        push.subscribe(user=bob, **fields)
    assert refused.value.field == field
    assert not PushSubscription.objects.exists()


def test_a_second_person_makes_their_own_subscription(service, bob):
    make_user("cy")
    subscribe(bob, service.device("phone"))
    assert PushSubscription.objects.filter(user=bob).count() == 1


def test_the_worker_skips_the_devices_the_server_saw_visible_without_a_shared_cache(service, bob):
    """The tabs report to a server process; a worker with a cache of its own (the embedded default)
    still skips those devices: the queuing hands it the list."""
    from accounts.tasks import deliver_push

    phone, laptop = service.device("phone"), service.device("laptop")
    subscribe(bob, phone)
    subscribe(bob, laptop)
    content = {"kind": "message", "title": "Ana", "body": "hi"}
    visible = [f"{bob.pk}:{push._device_digest(laptop.endpoint)}"]
    assert deliver_push.call(user_ids=[bob.pk], content=content, key="k-1", visible=visible) == 1
    assert len(service.messages("phone")) == 1 and service.messages("laptop") == []
