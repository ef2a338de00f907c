"""Hostile input on the people pages: redirects, ids, text; and the notification flood."""

from unittest import mock

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import Block, FriendRequest, Friendship, Notification
from chatsite.errors import NotFound
from conftest import make_user

pytestmark = pytest.mark.django_db
HUGE = "99999999999999999999"


def _friends(one, other):
    Friendship.objects.create(**Friendship.pair(one.pk, other.pk))


# (URL name, how to set it up, what the action saved, where it returns by default)
ACTIONS = {
    "friend_request_send": (
        lambda alice, bob: reverse("friend_request_send", args=[bob.pk]),
        lambda alice, bob: FriendRequest.objects.filter(from_user=alice, to_user=bob, status="pending").exists(),
        lambda alice, bob: reverse("profile_detail", args=[bob.pk])),
    "unfriend": (
        lambda alice, bob: _friends(alice, bob) or reverse("unfriend", args=[bob.pk]),
        lambda alice, bob: not Friendship.objects.exists(),
        lambda alice, bob: reverse("profile_detail", args=[bob.pk])),
    "block": (
        lambda alice, bob: reverse("block", args=[bob.pk]),
        lambda alice, bob: Block.objects.filter(blocker=alice, blocked=bob).exists(),
        lambda alice, bob: reverse("profile_detail", args=[bob.pk])),
    "unblock": (
        lambda alice, bob: Block.objects.create(blocker=alice, blocked=bob) and reverse("unblock", args=[bob.pk]),
        lambda alice, bob: not Block.objects.exists(),
        lambda alice, bob: reverse("people") + "?tab=blocked"),
    "friend_request_accept": (
        lambda alice, bob: reverse("friend_request_accept",
                                   args=[FriendRequest.objects.create(from_user=bob, to_user=alice).pk]),
        lambda alice, bob: Friendship.objects.exists(),
        lambda alice, bob: reverse("people") + "?tab=received"),
    "friend_request_reject": (
        lambda alice, bob: reverse("friend_request_reject",
                                   args=[FriendRequest.objects.create(from_user=bob, to_user=alice).pk]),
        lambda alice, bob: FriendRequest.objects.get().status == "rejected",
        lambda alice, bob: reverse("people") + "?tab=received"),
    "friend_request_cancel": (
        lambda alice, bob: reverse("friend_request_cancel",
                                   args=[FriendRequest.objects.create(from_user=alice, to_user=bob).pk]),
        lambda alice, bob: FriendRequest.objects.get().status == "cancelled",
        lambda alice, bob: reverse("people") + "?tab=sent"),
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("target", ["foo", "https://evil.example/", "//evil.example/x", "javascript:alert(1)",
                                    "people", "/\\evil.example", "\x00/x"])
def test_an_unsafe_or_odd_next_saves_the_action_and_returns_to_the_default_page(alice_client, alice, bob, action,
                                                                              target):
    setup, saved, default = ACTIONS[action]
    response = alice_client.post(setup(alice, bob), {"next": target})
    assert response.status_code == 302 and response["Location"] == default(alice, bob)
    assert saved(alice, bob)


@pytest.mark.parametrize("action", ACTIONS)
def test_a_local_next_is_followed(alice_client, alice, bob, action):
    setup, saved, _ = ACTIONS[action]
    response = alice_client.post(setup(alice, bob), {"next": "/people/?tab=find&q=bo"})
    assert response.status_code == 302 and response["Location"] == "/people/?tab=find&q=bo"
    assert saved(alice, bob)


def test_a_refusal_with_an_odd_referer_goes_home(alice_client, alice):
    """A refused plain post returns to the Referer only when it is a URL of this site."""
    response = alice_client.post(reverse("friend_request_send", args=[alice.pk]), HTTP_REFERER="foo")
    assert response.status_code == 302 and response["Location"] == reverse("home")
    response = alice_client.post(reverse("friend_request_send", args=[alice.pk]),
                                 HTTP_REFERER="http://testserver/people/")
    assert response["Location"] == "http://testserver/people/"


@pytest.mark.parametrize("name", ["profile_detail", "avatar", "friend_request_send", "unfriend", "block", "unblock"])
def test_a_person_id_beyond_the_database_is_not_found(alice_client, name):
    url = f"/people/{HUGE}/" + {"profile_detail": "", "avatar": "avatar/", "friend_request_send": "friend/"}.get(
        name, f"{name}/")
    response = alice_client.post(url) if name not in ("profile_detail", "avatar") else alice_client.get(url)
    assert response.status_code == 404


@pytest.mark.parametrize("name", ["friend_request_accept", "friend_request_reject", "friend_request_cancel",
                                  "notification_read"])
def test_other_ids_beyond_the_database_are_not_found(alice_client, name):
    path = {"notification_read": f"/notifications/{HUGE}/read/"}.get(name, f"/friend-requests/{HUGE}/{name[15:]}/")
    assert alice_client.post(path).status_code == 404


@pytest.mark.parametrize("value", [HUGE, 10**30, -1, 0, "1e400", float("inf"), float("nan"), True, None, [1], "١"])
def test_services_take_any_id_and_answer_not_found(alice, value):
    for call in (lambda: services.send_friend_request(user=alice, to_id=value),
                 lambda: services.block_user(user=alice, other_id=value),
                 lambda: services.respond_to_friend_request(user=alice, request_id=value, accept=True),
                 lambda: services.cancel_friend_request(user=alice, request_id=value)):
        with pytest.raises(NotFound):
            call()


def test_a_nul_in_a_friend_request_note_is_dropped_on_both_engines(alice_client, alice, bob):
    response = alice_client.post(reverse("friend_request_send", args=[bob.pk]), {"note": "hi\x00 there\x07"})
    assert response.status_code == 302
    assert FriendRequest.objects.get().note == "hi there"


def test_a_nul_in_the_people_search_finds_as_if_it_were_not_there(alice_client, bob):
    response = alice_client.get(reverse("people"), {"tab": "find", "q": "b\x00o"})
    assert response.status_code == 200 and "Bob Baker" in response.content.decode()
    response = alice_client.get(reverse("people"), {"tab": "find", "q": "x" * 10_000})
    assert response.status_code == 200


def test_profile_fields_are_cleaned_before_they_are_saved(alice_client, alice):
    response = alice_client.post(reverse("profile_edit"), {
        "first_name": "Al\x00ice", "last_name": "Ar\x1bcher", "username": "alice", "about": "line one\r\nline\x00 two"})
    assert response.status_code == 302, response.content.decode()
    alice.refresh_from_db()
    assert (alice.first_name, alice.last_name, alice.about) == ("Alice", "Archer", "line one\nline two")


def _alerts(recorded, user):
    return [e for groups, e in recorded if e["type"] == "notification.created" and f"user.{user.pk}" in groups]


def test_requesting_and_cancelling_in_a_loop_leaves_one_notification_and_one_alert(
        django_capture_on_commit_callbacks, alice, bob):
    recorded = []
    with mock.patch("chatsite.realtime.publish_now", lambda groups, event: recorded.append((list(groups), event))):
        for n in range(10):
            with django_capture_on_commit_callbacks(execute=True):
                request = services.send_friend_request(user=alice, to_id=bob.pk, note=f"try {n}")
            with django_capture_on_commit_callbacks(execute=True):
                services.cancel_friend_request(user=alice, request_id=request.pk)
    notification = Notification.objects.get(recipient=bob)
    assert notification.read_at is None and notification.count == 10 and "try 9" in notification.text
    assert len(_alerts(recorded, bob)) == 1


def test_after_reading_it_a_new_request_notifies_again(django_capture_on_commit_callbacks, alice, bob):
    request = services.send_friend_request(user=alice, to_id=bob.pk)
    services.cancel_friend_request(user=alice, request_id=request.pk)
    services.mark_all_notifications_read(user=bob)
    services.send_friend_request(user=alice, to_id=bob.pk)
    assert Notification.objects.filter(recipient=bob).count() == 2
    assert Notification.objects.filter(recipient=bob, read_at__isnull=True).count() == 1


def test_notifications_from_different_people_stay_apart(alice, bob):
    carol = make_user("carol")
    services.send_friend_request(user=alice, to_id=bob.pk)
    services.send_friend_request(user=carol, to_id=bob.pk)
    assert Notification.objects.filter(recipient=bob, read_at__isnull=True).count() == 2
