"""Galleries: media, files, links and stars of one conversation, newest first, members only."""

import pytest
from django.urls import reverse

from conftest import make_user
from messaging import selectors, services

from .files import PDF, image_bytes
from .test_uploads import make_upload

pytestmark = pytest.mark.django_db


def share(user, conversation, *attachments, body=""):
    return services.send_message(user=user, conversation_id=conversation.pk, body=body,
                                 attachment_ids=[a.pk for a in attachments]).message


def test_each_tab_lists_its_kind_newest_first(alice, bob, direct):
    first = share(alice, direct, make_upload(alice, "one.png", image_bytes("PNG")))
    pdf = make_upload(bob, "report.pdf", PDF)
    share(bob, direct, pdf, body="read https://example.com/a please")
    second = share(alice, direct, make_upload(alice, "two.png", image_bytes("PNG")))
    share(alice, direct, body="plain text")
    services.toggle_star(user=bob, message_id=first.pk)
    media = selectors.list_gallery(bob, direct.pk, tab="media")["items"]
    assert [i["attachment"].original_name for i in media] == ["two.png", "one.png"]
    assert media[0]["message"] == second
    assert [i["attachment"] for i in selectors.list_gallery(bob, direct.pk, tab="files")["items"]] == [pdf]
    assert [i["urls"] for i in selectors.list_gallery(bob, direct.pk, tab="links")["items"]] == [["https://example.com/a"]]
    assert [i["message"] for i in selectors.list_gallery(bob, direct.pk, tab="starred")["items"]] == [first]
    assert selectors.list_gallery(alice, direct.pk, tab="starred")["items"] == []  # stars are one's own


def test_pages(alice, direct):
    for n in range(5):
        share(alice, direct, make_upload(alice, f"{n}.png", image_bytes("PNG")))
    one = selectors.list_gallery(alice, direct.pk, tab="media", page=1, page_size=2)
    two = selectors.list_gallery(alice, direct.pk, tab="media", page=3, page_size=2)
    assert [i["attachment"].original_name for i in one["items"]] == ["4.png", "3.png"] and one["more"]
    assert [i["attachment"].original_name for i in two["items"]] == ["0.png"] and not two["more"]


def test_deleted_messages_leave_the_gallery(alice, direct):
    message = share(alice, direct, make_upload(alice, "gone.png", image_bytes("PNG")))
    services.delete_message(user=alice, message_id=message.pk)
    assert selectors.list_gallery(alice, direct.pk, tab="media")["items"] == []


def test_the_page_jumps_to_each_message_and_is_for_members(client, alice, bob, direct):
    message = share(alice, direct, make_upload(alice, "one.png", image_bytes("PNG")))
    client.force_login(bob)
    page = client.get(reverse("gallery", args=[direct.pk]) + "?tab=media").content.decode()
    assert f'#msg-{direct.pk}-{message.seq}' in page and 'alt="one.png"' in page and 'aria-current="page"' in page
    assert "No files yet." in client.get(reverse("gallery", args=[direct.pk]) + "?tab=files").content.decode()
    client.force_login(make_user("mallory"))
    assert client.get(reverse("gallery", args=[direct.pk])).status_code == 404
