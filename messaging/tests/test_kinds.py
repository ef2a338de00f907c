"""Each message kind renders with its own template; files are served to members only."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from conftest import make_user
from messaging import services
from messaging.models import Attachment, Message

pytestmark = pytest.mark.django_db


def add_file_message(conversation, sender, kind, name, content_type, data=b"data", body=""):
    message = services.post_message(conversation_id=conversation.pk, sender=sender, kind=kind, body=body,
                                    body_html=services.render_message_html(body) if body else "")
    attachment = Attachment(message=message, uploader=sender, kind=kind if kind != "file" else "file",
                            content_type=content_type, size=len(data), original_name=name)
    attachment.file.save(name, ContentFile(data), save=True)
    return message, attachment


def test_every_kind_has_its_template(alice_client, alice, direct):
    add_file_message(direct, alice, "image", "beach.png", "image/png", body="look **here**")
    add_file_message(direct, alice, "audio", "voice.webm", "audio/webm")
    add_file_message(direct, alice, "video", "clip.mp4", "video/mp4")
    add_file_message(direct, alice, "file", "report.pdf", "application/pdf", data=b"x" * 2048)
    services.post_message(conversation_id=direct.pk, sender=alice, kind="call", body="Missed audio call")
    page = alice_client.get(reverse("conversation", args=[direct.pk])).content.decode()
    assert 'alt="beach.png"' in page and "<strong>here</strong>" in page
    assert '<audio controls' in page and 'aria-label="Audio: voice.webm"' in page
    assert '<video controls' in page and 'aria-label="Video: clip.mp4"' in page
    assert "report.pdf" in page and "2.0\xa0KB" in page
    assert "Missed audio call" in page


def test_files_are_served_to_members_only(client, alice, bob, direct):
    _, attachment = add_file_message(direct, alice, "file", "notes.html", "text/html", data=b"<script>alert(1)</script>")
    url = reverse("attachment", args=[attachment.pk])
    assert client.get(url).status_code == 302  # sign in first
    client.force_login(bob)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"
    assert response["Content-Disposition"].startswith("attachment")  # HTML is never shown inline
    assert "sandbox" in response["Content-Security-Policy"]
    client.force_login(make_user("carol"))
    assert client.get(url).status_code == 404


def test_images_show_inline(client, alice, bob, direct):
    _, attachment = add_file_message(direct, alice, "image", "cat.png", "image/png")
    client.force_login(bob)
    response = client.get(reverse("attachment", args=[attachment.pk]))
    assert response["Content-Disposition"].startswith("inline") and response["Content-Type"] == "image/png"


def test_deleting_the_message_deletes_the_file(django_capture_on_commit_callbacks, client, alice, bob, direct):
    message, attachment = add_file_message(direct, alice, "file", "secret.txt", "text/plain")
    name = attachment.file.name
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_message(user=alice, message_id=message.pk)
    assert not default_storage.exists(name)
    assert not Attachment.objects.exists() and Message.objects.get(pk=message.pk).is_deleted
    client.force_login(bob)
    assert client.get(reverse("attachment", args=[attachment.pk])).status_code == 404
