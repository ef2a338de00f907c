import pytest
from django.urls import reverse

from accounts import services
from accounts.models import Block, FriendRequest

pytestmark = pytest.mark.django_db


def test_people_tabs_and_actions(client, alice, bob):
    client.force_login(alice)
    found = client.get(reverse("people") + "?tab=find&q=bo").content.decode()
    assert "Bob Baker" in found and 'aria-label="Message Bob Baker"' in found
    client.post(reverse("friend_request_send", args=[bob.pk]), {"note": "hello"})
    assert "Cancel your friend request to Bob Baker" in client.get(reverse("people") + "?tab=sent").content.decode()
    client.force_login(bob)
    received = client.get(reverse("people") + "?tab=received").content.decode()
    assert "“hello”" in received and "Accept Alice Archer's friend request" in received
    request = FriendRequest.objects.get()
    client.post(reverse("friend_request_accept", args=[request.pk]))
    assert "Alice Archer" in client.get(reverse("people")).content.decode()
    client.post(reverse("block", args=[alice.pk]))
    assert Block.objects.filter(blocker=bob, blocked=alice).exists()
    assert "Unblock Alice Archer" in client.get(reverse("people") + "?tab=blocked").content.decode()


def test_profile_offers_the_right_buttons(client, alice, bob):
    client.force_login(alice)
    page = client.get(reverse("profile_detail", args=[bob.pk])).content.decode()
    assert "Add friend" in page and ">Block<" in page and ">Message<" in page
    services.send_friend_request(user=bob, to_id=alice.pk, note="hi there")
    page = client.get(reverse("profile_detail", args=[bob.pk])).content.decode()
    assert "Accept friend request" in page and "“hi there”" in page


def test_request_to_someone_who_blocked_you_stores_nothing_and_reveals_nothing(client, alice, bob):
    services.block_user(user=bob, other_id=alice.pk)
    client.force_login(alice)
    response = client.post(reverse("friend_request_send", args=[bob.pk]), follow=True)
    assert "Friend request sent." in response.content.decode()
    assert not FriendRequest.objects.exists()


def test_refused_friend_request_says_why(client, alice, bob):
    services.block_user(user=alice, other_id=bob.pk)
    client.force_login(alice)
    response = client.post(reverse("friend_request_send", args=[bob.pk]), follow=True,
                           HTTP_REFERER=reverse("profile_detail", args=[bob.pk]))
    assert "You blocked Bob Baker. Unblock them first." in response.content.decode()
    assert not FriendRequest.objects.exists()


def test_settings_page_saves_and_validates(client, alice):
    client.force_login(alice)
    page = client.get(reverse("settings")).content.decode()
    assert "Who may start a chat with me" in page and "Hide when I was last online" in page
    response = client.post(reverse("settings"), {"direct_messages_from": "friends", "hide_last_seen": "on"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.direct_messages_from, alice.hide_last_seen, alice.email_digest) == ("friends", True, False)
    response = client.post(reverse("settings"), {"direct_messages_from": "aliens"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    alice.refresh_from_db()
    assert alice.direct_messages_from == "friends"


def test_presence_is_for_friends_and_chat_partners_only(client, alice, bob):
    from messaging import services as message_services

    client.force_login(alice)
    assert "data-presence-text" not in client.get(reverse("profile_detail", args=[bob.pk])).content.decode()
    message_services.get_or_create_direct_conversation(user=alice, other_id=bob.pk)
    assert "data-presence-text" in client.get(reverse("profile_detail", args=[bob.pk])).content.decode()
    services.block_user(user=bob, other_id=alice.pk)
    assert "data-presence-text" not in client.get(reverse("profile_detail", args=[bob.pk])).content.decode()
