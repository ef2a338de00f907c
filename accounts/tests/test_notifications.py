"""Notifications: stored, counted, pushed live, read; and the email digest."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts import selectors, services
from accounts.models import Notification, User
from conftest import make_user
from groups import services as group_services
from messaging import services as message_services
from messaging.tests.test_consumer import connect, next_of_type


@pytest.mark.django_db(transaction=True)
async def test_friend_request_reaches_the_bell_live_and_the_count_matches_the_database():
    ana, bo = await database_sync_to_async(make_user)("ana"), await database_sync_to_async(make_user)("bo")
    bo_ws, _, _ = await connect(bo)
    await database_sync_to_async(services.send_friend_request)(user=ana, to_id=bo.pk)
    frame = await next_of_type(bo_ws, "notification.created")
    assert frame["kind"] == "friend_request" and "wants to be your friend" in frame["html"]
    assert frame["unread"] == await database_sync_to_async(selectors.count_unread_notifications)(bo.pk) == 1
    assert (await next_of_type(bo_ws, "friends.changed"))["user_id"] == ana.pk
    await bo_ws.disconnect()


@pytest.mark.django_db
def test_messages_while_offline_make_one_notification_per_chat_and_reading_clears_it(
        django_capture_on_commit_callbacks, alice, bob, direct):
    for text in ("one", "two", "three"):
        with django_capture_on_commit_callbacks(execute=True):
            message_services.send_message(user=alice, conversation_id=direct.pk, body=text)
    notification = Notification.objects.get(recipient=bob)
    assert notification.kind == "message" and notification.count == 3
    assert notification.text == "New messages from Alice Archer"
    assert not Notification.objects.filter(recipient=alice).exists()
    message_services.mark_read(user=bob, conversation_id=direct.pk, seq=3)
    assert selectors.count_unread_notifications(bob.pk) == 0


@pytest.mark.django_db
def test_muted_chats_do_not_notify_but_mentions_do(django_capture_on_commit_callbacks, alice, bob):
    group = group_services.create_group(user=alice, title="Crew", member_ids=[bob.pk])
    message_services.set_conversation_flags(user=bob, conversation_id=group.pk, muted=True)
    with django_capture_on_commit_callbacks(execute=True):
        message_services.send_message(user=alice, conversation_id=group.pk, body="chatter")
    assert not Notification.objects.filter(recipient=bob, kind="message").exists()
    with django_capture_on_commit_callbacks(execute=True):
        message_services.send_message(user=alice, conversation_id=group.pk, body="@bob look at this")
    mention = Notification.objects.get(recipient=bob, kind="mention")
    assert "mentioned you in Crew" in mention.text


@pytest.mark.django_db
def test_group_invitation_notifies(alice, bob):
    group = group_services.create_group(user=alice, title="Crew")
    group_services.invite(user=alice, conversation_id=group.pk, invitee_id=bob.pk)
    assert Notification.objects.get(recipient=bob).kind == "group_invitation"


@pytest.mark.django_db
def test_notifications_page_mark_one_and_all(client, alice, bob):
    for n in range(2):
        services.notify(recipient_id=bob.pk, kind="mention", text=f"note {n}", url="/")
    client.force_login(bob)
    page = client.get(reverse("notifications")).content.decode()
    assert "note 0" in page and "note 1" in page and "Notifications, 2 unread" in page
    first = Notification.objects.filter(recipient=bob).first()
    client.post(reverse("notification_read", args=[first.pk]))
    assert selectors.count_unread_notifications(bob.pk) == 1
    client.force_login(alice)
    client.post(reverse("notification_read", args=[Notification.objects.filter(read_at__isnull=True).first().pk]))
    assert selectors.count_unread_notifications(bob.pk) == 1  # not Alice's to read
    client.force_login(bob)
    client.post(reverse("notifications_read_all"))
    assert selectors.count_unread_notifications(bob.pk) == 0


# --- the digest ---------------------------------------------------------------------------------

def away(user, minutes=120):
    User.objects.filter(pk=user.pk).update(last_seen=timezone.now() - timedelta(minutes=minutes))


@pytest.mark.django_db
def test_digest_goes_once_to_each_eligible_user_with_the_right_counts(alice, bob, mailoutbox):
    carol = make_user("carol", first_name="Carol")
    dave = make_user("dave", email_digest=False)
    erin = make_user("erin")
    chat_ab = message_services.get_or_create_direct_conversation(user=alice, other_id=bob.pk)
    chat_cb = message_services.get_or_create_direct_conversation(user=carol, other_id=bob.pk)
    chat_ad = message_services.get_or_create_direct_conversation(user=alice, other_id=dave.pk)
    message_services.get_or_create_direct_conversation(user=alice, other_id=erin.pk)  # nothing unread for erin
    for _ in range(3):
        message_services.send_message(user=alice, conversation_id=chat_ab.pk, body="hi bob")
    message_services.send_message(user=carol, conversation_id=chat_cb.pk, body="hey")
    message_services.send_message(user=alice, conversation_id=chat_ad.pk, body="hi dave")
    for person in (bob, dave, erin):
        away(person)
    call_command("send_digests")
    assert [m.to for m in mailoutbox] == [[bob.email]]
    mail = mailoutbox[0]
    assert mail.subject.endswith("You have 4 unread messages")
    assert "- Alice Archer: 3 unread" in mail.body and "- Carol Tester: 1 unread" in mail.body
    call_command("send_digests")  # nothing new since: nothing sent again
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_digest_skips_people_who_were_online_recently(alice, bob, mailoutbox):
    chat = message_services.get_or_create_direct_conversation(user=alice, other_id=bob.pk)
    message_services.send_message(user=alice, conversation_id=chat.pk, body="hi")
    away(bob, minutes=5)
    call_command("send_digests", away_minutes=60)
    assert mailoutbox == []


@pytest.mark.django_db
def test_unsubscribe_link_turns_digests_off(client, alice, bob, mailoutbox):
    chat = message_services.get_or_create_direct_conversation(user=alice, other_id=bob.pk)
    message_services.send_message(user=alice, conversation_id=chat.pk, body="hi")
    away(bob)
    call_command("send_digests")
    link = next(line for line in mailoutbox[0].body.splitlines() if "/digest/unsubscribe/" in line).split(": ", 1)[1]
    assert link.startswith(settings.SITE_URL.rstrip("/") + "/")
    path = link.removeprefix(settings.SITE_URL.rstrip("/"))
    assert "Stop digest emails" in client.get(path).content.decode()
    assert "will get no more digest emails" in client.post(path).content.decode()
    bob.refresh_from_db()
    assert bob.email_digest is False
    response = client.get("/digest/unsubscribe/forged-token/")
    assert response.status_code == 400 and "not valid" in response.content.decode()
