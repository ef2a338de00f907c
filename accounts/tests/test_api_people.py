"""The API's people endpoints (/api/v1/): search, profiles, avatar, friends, blocks and
notifications, with the site's rules (accounts.services and accounts.policy)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Block, FriendRequest, Friendship, Notification
from accounts.services import notify
from messaging.tests.files import image_bytes

pytestmark = pytest.mark.django_db


def test_people_search_finds_by_name_and_whole_email_only(api_as, ana, bo, eve):
    api = api_as(ana)
    assert [p["username"] for p in api.get("/people", {"q": "B"}).json()] == ["bo"]
    assert [p["id"] for p in api.get("/people", {"q": "eve@example.com"}).json()] == [eve.pk]
    assert api.get("/people", {"q": "eve@exa"}).json() == []
    assert api.get("/people", {"q": "ana"}).json() == []  # not oneself
    missing = api.get("/people")
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "q"


def test_a_profile_says_how_we_are_related(api_as, ana, bo):
    api = api_as(ana)
    assert api.get(f"/people/{bo.pk}").json()["relation"] == {
        "friends": False, "request_sent_id": None, "request_received_id": None, "i_blocked": False}
    assert api.get(f"/people/{ana.pk}").json()["relation"] is None
    bo.is_active = False
    bo.save()
    gone = api.get(f"/people/{bo.pk}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


def test_avatar_upload_and_removal(api_as, ana, media):
    api = api_as(ana)
    set_ = api.post("/me/avatar", files={"avatar": SimpleUploadedFile("me.png", image_bytes(size=(80, 60)), "image/png")})
    assert set_.status_code == 200, set_.content
    assert set_.json()["avatar_url"] == f"/people/{ana.pk}/avatar/"
    ana.refresh_from_db()
    assert ana.avatar
    refused = api.post("/me/avatar", files={"avatar": SimpleUploadedFile("me.png", b"not an image", "image/png")})
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "avatar"
    cleared = api.delete("/me/avatar")
    assert cleared.status_code == 200 and cleared.json()["avatar_url"] is None


def test_friend_requests_from_ask_to_unfriend(api_as, ana, bo):
    ana_api, bo_api = api_as(ana), api_as(bo)
    sent = ana_api.post("/friend-requests", {"user_id": bo.pk, "note": "hi from the API"})
    assert sent.status_code == 201
    request = sent.json()["request"]
    assert request["status"] == "pending" and request["to_user"]["id"] == bo.pk
    assert [r["id"] for r in bo_api.get("/friend-requests").json()] == [request["id"]]
    assert [r["id"] for r in ana_api.get("/friend-requests", {"direction": "sent"}).json()] == [request["id"]]
    # Only the one asked may answer; to anyone else the request does not exist.
    assert ana_api.post(f"/friend-requests/{request['id']}/accept").status_code == 404
    accepted = bo_api.post(f"/friend-requests/{request['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert [p["id"] for p in ana_api.get("/friends").json()] == [bo.pk]
    assert ana_api.delete(f"/friends/{bo.pk}").status_code == 204
    assert not Friendship.objects.exists()


def test_reject_and_cancel(api_as, ana, bo, eve):
    first = api_as(ana).post("/friend-requests", {"user_id": bo.pk}).json()["request"]
    assert api_as(bo).post(f"/friend-requests/{first['id']}/reject").json()["status"] == "rejected"
    second = api_as(ana).post("/friend-requests", {"user_id": eve.pk}).json()["request"]
    assert api_as(eve).post(f"/friend-requests/{second['id']}/cancel").status_code == 404
    assert api_as(ana).post(f"/friend-requests/{second['id']}/cancel").json()["status"] == "cancelled"
    wrong = api_as(ana).get("/friend-requests", {"direction": "sideways"})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "direction"


def test_blocking_stops_requests_without_telling(api_as, ana, bo):
    assert api_as(bo).put(f"/blocks/{ana.pk}").status_code == 204
    assert [p["id"] for p in api_as(bo).get("/blocks").json()] == [ana.pk]
    asked = api_as(ana).post("/friend-requests", {"user_id": bo.pk})
    assert asked.status_code == 201 and asked.json() == {"request": None}
    assert not FriendRequest.objects.exists()
    assert api_as(bo).delete(f"/blocks/{ana.pk}").status_code == 204
    assert not Block.objects.exists()
    assert api_as(bo).put(f"/blocks/{bo.pk}").status_code == 400


def test_notifications_list_and_mark_read(api_as, ana, bo):
    first = notify(recipient_id=ana.pk, kind="mention", text="Bo mentioned you", actor=bo)
    notify(recipient_id=ana.pk, kind="friend_request", text="Bo wants to be your friend", actor=bo)
    notify(recipient_id=bo.pk, kind="mention", text="not Ana's")
    api = api_as(ana)
    listed = api.get("/notifications").json()
    assert listed["unread_count"] == 2 and len(listed["notifications"]) == 2
    assert {n["text"] for n in listed["notifications"]} == {"Bo mentioned you", "Bo wants to be your friend"}
    assert api.post(f"/notifications/{first.pk}/read").status_code == 204
    assert api.get("/notifications").json()["unread_count"] == 1
    assert api.post("/notifications/read-all").status_code == 204
    assert api.get("/notifications").json()["unread_count"] == 0
    assert Notification.objects.filter(recipient=bo, read_at__isnull=True).count() == 1
