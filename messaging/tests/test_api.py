"""The API's conversations, messages and files (/api/v1/): what a bot or an app does with a token,
through the same services as the site."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import make_user
from messaging import services
from messaging.models import Attachment, Membership, Message, Reaction, Star

from .files import image_bytes

pytestmark = pytest.mark.django_db


def test_the_conversation_list_has_unread_counts_and_the_last_message(api_as, alice, bob, direct, send):
    send(bob, "one")
    send(bob, "two")
    listed = api_as(alice).get("/conversations")
    assert listed.status_code == 200
    [entry] = listed.json()
    assert entry["id"] == direct.pk and entry["kind"] == "direct" and entry["unread_count"] == 2
    assert entry["title"] == bob.display_name and entry["counterpart"]["id"] == bob.pk
    assert entry["last_message"]["preview"] == "two" and entry["last_message"]["sender_id"] == bob.pk
    # Bob's own messages are read by him.
    assert api_as(bob).get("/conversations").json()[0]["unread_count"] == 0


def test_opening_a_direct_chat_is_get_or_create(api_as, alice, bob):
    api = api_as(alice)
    first = api.post("/conversations/direct", {"user_id": bob.pk})
    assert first.status_code == 200
    again = api.post("/conversations/direct", {"user_id": bob.pk})
    assert again.json()["id"] == first.json()["id"]
    assert sorted(m["id"] for m in first.json()["members"]) == sorted([alice.pk, bob.pk])
    assert api.post("/conversations/direct", {"user_id": alice.pk}).status_code == 400
    missing = api.post("/conversations/direct", {"user_id": 10**12})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_pin_and_mute_are_mine_only(api_as, alice, bob, direct):
    changed = api_as(alice).patch(f"/conversations/{direct.pk}", {"pinned": True, "muted": True})
    assert changed.status_code == 200 and changed.json()["pinned"] and changed.json()["muted"]
    assert not Membership.objects.get(conversation=direct, user=bob).pinned


def test_history_pages_by_seq_both_ways(api_as, alice, bob, direct, send):
    for n in range(1, 8):
        send(bob, f"m{n}")
    api = api_as(alice)
    newest = api.get(f"/conversations/{direct.pk}/messages", {"limit": 3}).json()
    assert [m["seq"] for m in newest["messages"]] == [5, 6, 7] and newest["more"] is True
    older = api.get(f"/conversations/{direct.pk}/messages", {"limit": 3, "before": 5}).json()
    assert [m["body"] for m in older["messages"]] == ["m2", "m3", "m4"] and older["more"] is True
    oldest = api.get(f"/conversations/{direct.pk}/messages", {"limit": 3, "before": 2}).json()
    assert [m["seq"] for m in oldest["messages"]] == [1] and oldest["more"] is False
    after = api.get(f"/conversations/{direct.pk}/messages", {"after": 5}).json()
    assert [m["seq"] for m in after["messages"]] == [6, 7] and after["more"] is False


def test_paging_arguments_out_of_range_name_the_field(api_as, alice, direct):
    api = api_as(alice)
    for params, field in (({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"before": -1}, "before"),
                          ({"after": "x"}, "after")):
        refused = api.get(f"/conversations/{direct.pk}/messages", params)
        assert refused.status_code == 422, params
        assert refused.json()["error"]["code"] == "invalid" and refused.json()["error"]["field"] == field


def test_send_is_idempotent_by_client_id(api_as, alice, bob, direct):
    api = api_as(alice)
    sent = api.post(f"/conversations/{direct.pk}/messages", {"body": "**hi**", "client_id": "bot-1"})
    assert sent.status_code == 201
    message = sent.json()
    assert message["body"] == "**hi**" and "<strong>hi</strong>" in message["html"]
    assert message["sender"]["id"] == alice.pk and message["client_id"] == "bot-1" and message["seq"] == 1
    retry = api.post(f"/conversations/{direct.pk}/messages", {"body": "**hi**", "client_id": "bot-1"})
    assert retry.status_code == 200 and retry.json()["id"] == message["id"]
    assert Message.objects.filter(conversation=direct).count() == 1
    # The client id is the sender's business.
    assert api_as(bob).get(f"/messages/{message['id']}").json()["client_id"] == ""


def test_send_refusals_say_what_and_which_field(api_as, alice, direct, settings):
    api = api_as(alice)
    empty = api.post(f"/conversations/{direct.pk}/messages", {"body": "   "})
    assert empty.status_code == 400 and empty.json()["error"]["field"] == "body"
    long = api.post(f"/conversations/{direct.pk}/messages", {"body": "x" * (settings.MESSAGE_MAX_LENGTH + 1)})
    assert long.status_code == 400 and long.json()["error"]["code"] == "too_long"
    bad_id = api.post(f"/conversations/{direct.pk}/messages", {"body": "hi", "client_id": "has space"})
    assert bad_id.status_code == 400 and bad_id.json()["error"]["field"] == "client_id"
    wrong_type = api.post(f"/conversations/{direct.pk}/messages", {"body": ["hi"]})
    assert wrong_type.status_code == 422 and wrong_type.json()["error"]["field"] == "body"
    not_json = api.client.post(f"/api/v1/conversations/{direct.pk}/messages", "{nope", content_type="application/json",
                               **api.headers)
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid"
    assert not Message.objects.filter(conversation=direct).exists()


def test_a_reply_names_the_message_it_answers(api_as, alice, bob, direct, send):
    asked = send(bob, "lunch?")
    reply = api_as(alice).post(f"/conversations/{direct.pk}/messages", {"body": "yes", "reply_to": asked.pk})
    assert reply.status_code == 201
    assert reply.json()["reply_to"] == asked.pk
    assert reply.json()["reply"] == {"id": asked.pk, "seq": asked.seq, "sender_id": bob.pk, "preview": "lunch?"}


def test_edit_and_delete_my_own_messages_only(api_as, alice, bob, direct, send):
    mine, theirs = send(alice, "tpyo"), send(bob, "bob's")
    api = api_as(alice)
    edited = api.patch(f"/messages/{mine.pk}", {"body": "typo"})
    assert edited.status_code == 200 and edited.json()["body"] == "typo" and edited.json()["edited_at"]
    refused = api.patch(f"/messages/{theirs.pk}", {"body": "mine now"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    deleted = api.delete(f"/messages/{mine.pk}")
    assert deleted.status_code == 200 and deleted.json()["deleted"] and deleted.json()["body"] == ""
    assert api.delete(f"/messages/{theirs.pk}").status_code == 403
    assert Message.objects.get(pk=theirs.pk).body == "bob's"


def test_reactions_and_stars_are_set_not_toggled(api_as, alice, bob, direct, send):
    said = send(bob, "news")
    api = api_as(alice)
    for _ in range(2):  # a retry leaves one reaction
        added = api.put(f"/messages/{said.pk}/reactions", {"emoji": "🎉"})
        assert added.status_code == 200
    assert added.json()["reactions"] == [{"emoji": "🎉", "count": 1, "user_ids": [alice.pk]}]
    removed = api.delete(f"/messages/{said.pk}/reactions?emoji=🎉")
    assert removed.status_code == 200 and removed.json()["reactions"] == []
    assert not Reaction.objects.exists()
    unknown = api.put(f"/messages/{said.pk}/reactions", {"emoji": "🦄"})
    assert unknown.status_code == 400 and unknown.json()["error"]["field"] == "emoji"
    for _ in range(2):
        assert api.put(f"/messages/{said.pk}/star").json() == {"starred": True}
    assert api.get(f"/messages/{said.pk}").json()["starred"] is True
    assert [m["id"] for m in api.get("/starred").json()] == [said.pk]
    assert api.delete(f"/messages/{said.pk}/star").json() == {"starred": False}
    assert not Star.objects.exists()


def test_mark_read_moves_the_watermark(api_as, alice, bob, direct, send):
    for n in range(3):
        send(bob, f"m{n}")
    api = api_as(alice)
    read = api.post(f"/conversations/{direct.pk}/read", {"seq": 2})
    assert read.status_code == 200 and read.json() == {"last_read_seq": 2, "unread_count": 1}
    assert api.get(f"/conversations/{direct.pk}").json()["unread_count"] == 1
    # Past the end counts as the end; the watermark never moves back.
    assert api.post(f"/conversations/{direct.pk}/read", {"seq": 99}).json()["last_read_seq"] == 3
    assert api.post(f"/conversations/{direct.pk}/read", {"seq": 1}).json()["last_read_seq"] == 3


def test_upload_then_send_claims_it_and_members_download_it(api_as, alice, bob, direct):
    api = api_as(alice)
    uploaded = api.post("/uploads", files={"file": SimpleUploadedFile("dot.png", image_bytes(), "image/png")})
    assert uploaded.status_code == 201, uploaded.content
    upload = uploaded.json()
    assert upload["kind"] == "image" and upload["content_type"] == "image/png" and upload["url"] is None
    sent = api.post(f"/conversations/{direct.pk}/messages", {"attachments": [upload["id"]], "client_id": "f1"})
    assert sent.status_code == 201 and sent.json()["kind"] == "image"
    [attachment] = sent.json()["attachments"]
    assert attachment["id"] == upload["id"] and attachment["url"] == f"/api/v1/attachments/{upload['id']}"
    download = api_as(bob).get(attachment["url"])
    assert download.status_code == 200 and download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content).startswith(b"\x89PNG")
    assert api_as(bob).get(attachment["thumbnail_url"])["Content-Type"] == "image/webp"
    # Outsiders learn nothing, not even that it exists.
    outsider = api_as(make_user("eve")).get(attachment["url"])
    assert outsider.status_code == 404 and outsider.json()["error"]["code"] == "not_found"


def test_upload_refusals_are_the_sites(api_as, alice, settings):
    api = api_as(alice)
    missing = api.post("/uploads", files={})
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "file"
    lying = api.post("/uploads", files={"file": SimpleUploadedFile("photo.png", b"not a png at all", "image/png")})
    assert lying.status_code == 400 and lying.json()["error"]["code"] == "file_refused"
    settings.UPLOAD_MAX_BYTES = 100
    large = api.post("/uploads", files={"file": SimpleUploadedFile("big.txt", b"x" * 500, "text/plain")})
    assert large.status_code == 413 and large.json()["error"]["code"] == "file_too_large"
    assert not Attachment.objects.exists()


def test_someone_elses_upload_cannot_be_claimed(api_as, alice, bob, direct):
    bobs = api_as(bob).post("/uploads", files={"file": SimpleUploadedFile("a.txt", b"hello", "text/plain")}).json()
    refused = api_as(alice).post(f"/conversations/{direct.pk}/messages", {"attachments": [bobs["id"]]})
    assert refused.status_code == 404 and refused.json()["error"]["field"] == "attachments"
    assert Attachment.objects.get(pk=bobs["id"]).message_id is None


def test_conversation_detail_lists_members_and_what_they_read(api_as, alice, bob, direct, send):
    send(alice, "hi")
    services.mark_read(user=bob, conversation_id=direct.pk, seq=1)
    detail = api_as(alice).get(f"/conversations/{direct.pk}").json()
    assert {m["username"]: m["read_seq"] for m in detail["members"]} == {"alice": 1, "bob": 1}
    assert detail["others_read_seq"] == 1


def test_on_s3_a_download_is_a_redirect_to_a_short_lived_url(s3_storage, api_as, alice, bob, direct):
    import requests

    api = api_as(alice)
    upload = api.post("/uploads", files={"file": SimpleUploadedFile("notes.txt", b"private notes", "text/plain")})
    assert upload.status_code == 201, upload.content
    sent = api.post(f"/conversations/{direct.pk}/messages", {"attachments": [upload.json()["id"]]}).json()
    response = api_as(bob).get(sent["attachments"][0]["url"])
    assert response.status_code == 302 and response["Cache-Control"] == "private, no-store"
    assert "X-Amz-Expires=300" in response["Location"]
    assert requests.get(response["Location"], timeout=10).content == b"private notes"
    assert api_as(make_user("eve")).get(sent["attachments"][0]["url"]).status_code == 404
