"""Serving uploads: members only, inert headers, files gone from storage with their message or account."""

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from accounts.services import profile
from conftest import make_user
from messaging import services

from .files import PDF, jpeg_with_gps
from .test_uploads import make_upload

pytestmark = pytest.mark.django_db


def sent(user, conversation, *attachments, body=""):
    return services.send_message(user=user, conversation_id=conversation.pk, body=body,
                                 attachment_ids=[a.pk for a in attachments]).message


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def test_members_download_images_inline_with_inert_headers(client, alice, bob, direct):
    photo = make_upload(alice, "photo.jpg", jpeg_with_gps())
    sent(alice, direct, photo)
    client.force_login(bob)
    response = client.get(reverse("attachment", args=[photo.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff" and "sandbox" in response["Content-Security-Policy"]
    assert content(response)[:3] == b"\xff\xd8\xff"
    thumbnail = client.get(reverse("attachment", args=[photo.pk]) + "?thumbnail=1")
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/webp"
    assert thumbnail["X-Content-Type-Options"] == "nosniff" and content(thumbnail)[8:12] == b"WEBP"


@pytest.mark.parametrize("name,data", [("report.pdf", PDF), ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
                                       ("page.html", b"<html><script>alert(1)</script></html>")])
def test_pdf_svg_and_html_are_always_downloads(client, alice, bob, direct, name, data):
    item = make_upload(alice, name, data)
    sent(alice, direct, item)
    client.force_login(bob)
    response = client.get(reverse("attachment", args=[item.pk]))
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert name in response["Content-Disposition"] and response["X-Content-Type-Options"] == "nosniff"


def test_anonymous_download_is_refused(client, alice, direct):
    photo = make_upload(alice)
    sent(alice, direct, photo)
    response = client.get(reverse("attachment", args=[photo.pk]))
    assert response.status_code == 302 and "login" in response["Location"]
    assert client.get(reverse("attachment", args=[photo.pk]) + "?thumbnail=1").status_code == 302


def test_non_member_download_is_refused(client, alice, direct):
    photo = make_upload(alice)
    sent(alice, direct, photo)
    client.force_login(make_user("mallory"))
    assert client.get(reverse("attachment", args=[photo.pk])).status_code == 404
    assert client.get(reverse("attachment", args=[photo.pk]) + "?thumbnail=1").status_code == 404


def test_an_unclaimed_upload_is_nobodys_download(client, alice, bob, direct):
    photo = make_upload(alice)
    client.force_login(bob)
    assert client.get(reverse("attachment", args=[photo.pk])).status_code == 404


def test_deleting_an_account_deletes_its_files(alice, bob, direct, django_capture_on_commit_callbacks):
    photo, pdf = make_upload(alice), make_upload(alice, "report.pdf", PDF)
    sent(alice, direct, photo, pdf)
    theirs = make_upload(bob, "bob.pdf", PDF)
    sent(bob, direct, theirs)
    names = [photo.file.name, photo.thumbnail.name, pdf.file.name]
    with django_capture_on_commit_callbacks(execute=True):
        profile.delete_account(user=alice)
    assert not any(default_storage.exists(n) for n in names)
    assert default_storage.exists(theirs.file.name)


def test_deleting_a_message_deletes_files_and_thumbnails(alice, direct, django_capture_on_commit_callbacks):
    photo = make_upload(alice)
    message = sent(alice, direct, photo, body="look")
    names = [photo.file.name, photo.thumbnail.name]
    assert all(default_storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_message(user=alice, message_id=message.pk)
    assert not any(default_storage.exists(n) for n in names)
