"""The upload pipeline: every refusal, images cleaned, a message claiming its uploads once."""

import io
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from chatsite.errors import ErrorCode, NotFound
from conftest import make_user
from messaging import services, uploads
from messaging.models import Attachment, Message

from .files import PDF, animated_gif, image_bytes, jpeg_with_gps, png_bomb

pytestmark = pytest.mark.django_db


def upload(client, name, data, content_type="application/octet-stream", **extra):
    return client.post(reverse("upload"), {"file": SimpleUploadedFile(name, data, content_type=content_type), **extra},
                       HTTP_ACCEPT="application/json")


def make_upload(user, name="photo.jpg", data=None, **kwargs) -> Attachment:
    data = jpeg_with_gps() if data is None else data
    return uploads.create_upload(user=user, uploaded=SimpleUploadedFile(name, data), name=name, **kwargs)


def stored(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


# --- the endpoint -------------------------------------------------------------------------------

def test_an_image_is_reencoded_without_metadata_and_has_a_thumbnail(alice_client):
    original = jpeg_with_gps(size=(1200, 900))
    assert b"Secret Camera" in original and b"secret comment" in original
    response = upload(alice_client, "holiday.JPG", original, "image/jpeg")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "image" and body["content_type"] == "image/jpeg" and body["name"] == "holiday.JPG"
    item = Attachment.objects.get(pk=body["id"])
    assert item.message is None and (item.width, item.height) == (1200, 900)
    data = stored(item.file.name)
    assert b"Secret Camera" not in data and b"secret" not in data and b"GPS" not in data
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and not image.getexif() and "exif" not in image.info
    thumbnail = Image.open(io.BytesIO(stored(item.thumbnail.name)))
    assert thumbnail.format == "WEBP" and max(thumbnail.size) == 480
    # Storage keys are the server's own: nothing of the name the person gave.
    assert "holiday" not in item.file.name and "holiday" not in item.thumbnail.name
    assert item.size == len(data)


@pytest.mark.parametrize("fmt,content_type", [("PNG", "image/png"), ("WEBP", "image/webp"), ("GIF", "image/gif")])
def test_every_image_format_is_reencoded(alice, fmt, content_type):
    item = make_upload(alice, f"picture.{fmt.lower()}", image_bytes(fmt))
    assert (item.kind, item.content_type) == ("image", content_type)
    assert Image.open(io.BytesIO(stored(item.file.name))).format == fmt


def test_an_animated_gif_keeps_its_frames_but_not_its_comment(alice):
    item = make_upload(alice, "wave.gif", animated_gif())
    data = stored(item.file.name)
    assert Image.open(io.BytesIO(data)).n_frames == 3 and b"secret comment" not in data


def test_a_pdf_is_a_file(alice_client):
    body = upload(alice_client, "report.pdf", PDF, "application/pdf").json()
    assert (body["kind"], body["content_type"]) == ("file", "application/pdf")


def test_text_and_unknown_bytes_are_files_by_their_name(alice):
    assert make_upload(alice, "notes.txt", b"just words\n").content_type == "text/plain"
    assert make_upload(alice, "blob", b"\x00\x01\x02 no signature").content_type == "application/octet-stream"


def test_a_voice_note_keeps_its_duration(alice):
    webm = b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\x82\x84webm" + b"\x00" * 60  # EBML, DocType "webm"
    item = make_upload(alice, "voice.webm", webm, declared_type="audio/webm;codecs=opus", duration_ms="7300")
    assert (item.kind, item.content_type, item.duration_ms) == ("audio", "audio/webm", 7300)
    assert make_upload(alice, "clip.webm", webm, declared_type="video/webm").kind == "video"


# --- refusals -------------------------------------------------------------------------------------

def test_oversize_is_refused(alice_client, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    response = upload(alice_client, "big.pdf", PDF + b"x" * 1001, "application/pdf")
    assert response.status_code == 413 and response.json()["error"]["code"] == ErrorCode.FILE_TOO_LARGE
    assert "too large" in response.json()["error"]["message"]
    assert not Attachment.objects.exists()


def test_oversize_is_refused_before_the_body_is_read(alice_client, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    response = alice_client.post(reverse("upload"), data=b"x" * 10, content_type="multipart/form-data; boundary=x",
                                 CONTENT_LENGTH=str(10 * 1024 * 1024), HTTP_ACCEPT="application/json")
    assert response.status_code == 413 and response.json()["error"]["code"] == ErrorCode.FILE_TOO_LARGE


def test_over_quota_is_refused(alice_client, settings):
    first = jpeg_with_gps()
    assert upload(alice_client, "one.jpg", first).status_code == 201
    used = Attachment.objects.get().size
    settings.UPLOAD_QUOTA_BYTES = used + len(PDF) - 1
    response = upload(alice_client, "two.pdf", PDF)
    assert response.status_code == 413 and response.json()["error"]["code"] == ErrorCode.OVER_QUOTA
    assert "storage is full" in response.json()["error"]["message"]
    assert Attachment.objects.count() == 1


@pytest.mark.parametrize("name,data", [
    ("invoice.pdf", image_bytes("PNG")),  # PNG bytes named as a PDF
    ("photo.png", jpeg_with_gps()),  # JPEG bytes named as a PNG
    ("page.html", image_bytes("PNG")),  # an image claiming to be HTML
    ("fake.jpg", b"<html><script>alert(1)</script></html>"),  # HTML claiming to be an image
])
def test_a_name_that_contradicts_the_bytes_is_refused(alice_client, name, data):
    response = upload(alice_client, name, data, "image/png")
    assert response.status_code == 400 and response.json()["error"]["code"] == ErrorCode.FILE_REFUSED
    assert not Attachment.objects.exists() and not default_storage.listdir("attachments")[1]


def test_the_browser_type_is_not_trusted(alice):
    item = make_upload(alice, "noextension", image_bytes("PNG"), declared_type="text/html")
    assert item.content_type == "image/png"


def test_a_pixel_bomb_is_refused(alice_client):
    bomb = png_bomb()
    assert len(bomb) < 20_000
    response = upload(alice_client, "bomb.png", bomb, "image/png")
    assert response.status_code == 400 and response.json()["error"]["code"] == ErrorCode.FILE_REFUSED
    assert "too large" in response.json()["error"]["message"]


def test_the_pixel_limit_is_a_setting(alice, settings):
    settings.UPLOAD_MAX_PIXELS = 100 * 100
    make_upload(alice, "ok.png", image_bytes("PNG", size=(100, 100)))
    with pytest.raises(uploads.FileRefused):
        make_upload(alice, "big.png", image_bytes("PNG", size=(101, 100)))


def test_a_broken_image_is_refused(alice):
    with pytest.raises(uploads.FileRefused):
        make_upload(alice, "broken.png", image_bytes("PNG")[:60])


def test_anonymous_upload_is_refused(client):
    response = upload(client, "report.pdf", PDF)
    assert response.status_code in (302, 401, 403) and not Attachment.objects.exists()


def test_upload_needs_the_csrf_token(alice):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert upload(strict, "report.pdf", PDF).status_code == 403
    assert not Attachment.objects.exists()


# --- claiming -------------------------------------------------------------------------------------

def test_a_message_claims_several_uploads_with_one_caption(alice, bob, direct, django_capture_on_commit_callbacks):
    photo, pdf = make_upload(alice), make_upload(alice, "report.pdf", PDF)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.send_message(user=alice, conversation_id=direct.pk, body="our **trip**", client_id="c-1",
                                       attachment_ids=[photo.pk, pdf.pk])
    message = result.message
    assert message.kind == Message.Kind.FILE and message.body == "our **trip**"
    assert list(message.attachments.order_by("pk")) == [photo, pdf]
    html = services.render_message_html  # the rendered message shows both, and the caption
    assert html
    from messaging.events import render_message

    page = render_message(Message.objects.get(pk=message.pk))
    assert 'alt="photo.jpg"' in page and "report.pdf" in page and "<strong>trip</strong>" in page


def test_images_only_make_an_image_message_without_a_caption(alice, direct):
    message = services.send_message(user=alice, conversation_id=direct.pk, body="", attachment_ids=[make_upload(alice).pk]).message
    assert message.kind == Message.Kind.IMAGE and message.preview == "Image"


def test_a_retried_send_never_duplicates_files(alice, direct):
    photo = make_upload(alice)
    first = services.send_message(user=alice, conversation_id=direct.pk, body="", client_id="c-9", attachment_ids=[photo.pk])
    again = services.send_message(user=alice, conversation_id=direct.pk, body="", client_id="c-9", attachment_ids=[photo.pk])
    assert first.created and not again.created and again.message.pk == first.message.pk
    assert Message.objects.filter(client_id="c-9").count() == 1 and Attachment.objects.count() == 1


def test_an_upload_is_claimed_once(alice, direct):
    photo = make_upload(alice)
    services.send_message(user=alice, conversation_id=direct.pk, body="", client_id="a", attachment_ids=[photo.pk])
    with pytest.raises(NotFound):
        services.send_message(user=alice, conversation_id=direct.pk, body="", client_id="b", attachment_ids=[photo.pk])


def test_claiming_someone_elses_upload_is_refused(alice, bob, direct):
    photo = make_upload(alice)
    with pytest.raises(NotFound) as refusal:
        services.send_message(user=bob, conversation_id=direct.pk, body="mine now", attachment_ids=[photo.pk])
    assert refusal.value.field == "attachments"
    assert Attachment.objects.get().message is None and not Message.objects.filter(body="mine now").exists()


def test_claiming_through_the_send_form(alice, alice_client, direct):
    photo = make_upload(alice)
    response = alice_client.post(reverse("send_message", args=[direct.pk]),
                                 {"body": "", "attachments": [photo.pk], "client_id": "form-1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'alt="photo.jpg"' in response.content.decode()
    assert Attachment.objects.get().message.client_id == "form-1"


def test_too_many_files_in_one_message(alice, direct, settings):
    settings.UPLOAD_MAX_FILES = 2
    ids = [make_upload(alice, f"{n}.pdf", PDF).pk for n in range(3)]
    with pytest.raises(services.InvalidInput):
        services.send_message(user=alice, conversation_id=direct.pk, body="", attachment_ids=ids)


def test_a_message_without_files_still_needs_text(alice, direct):
    with pytest.raises(services.InvalidInput):
        services.send_message(user=alice, conversation_id=direct.pk, body="  ")


# --- the sweep ------------------------------------------------------------------------------------

def test_unclaimed_uploads_are_removed_after_the_grace_period(alice, direct, django_capture_on_commit_callbacks):
    old, fresh, sent = make_upload(alice), make_upload(alice), make_upload(alice)
    services.send_message(user=alice, conversation_id=direct.pk, body="", attachment_ids=[sent.pk])
    Attachment.objects.filter(pk__in=[old.pk, sent.pk]).update(created_at=timezone.now() - timedelta(days=2))
    names = [old.file.name, old.thumbnail.name]
    out = io.StringIO()
    call_command("cleanup_uploads", "--dry-run", stdout=out)
    assert "Would remove 1 unclaimed upload." in out.getvalue() and Attachment.objects.count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        call_command("cleanup_uploads", stdout=out)
    assert "Removed 1 unclaimed upload." in out.getvalue()
    assert set(Attachment.objects.values_list("pk", flat=True)) == {fresh.pk, sent.pk}
    assert not any(default_storage.exists(n) for n in names)


def test_the_worker_sweeps_unclaimed_uploads_periodically(alice):
    from chatsite import tasks
    from messaging.tasks import cleanup_uploads

    jobs = {job.name: job for job in tasks.periodic_jobs()}
    assert jobs["cleanup_uploads"].every_setting == "UPLOAD_SWEEP_EVERY_MINUTES"
    old, fresh = make_upload(alice), make_upload(alice)
    Attachment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))

    assert cleanup_uploads.enqueue().return_value == 1
    assert list(Attachment.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_cleanup_uploads_has_help():
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("cleanup_uploads", "--help", stdout=out)


def test_the_sweep_service_honours_its_argument(alice):
    make_upload(alice)
    assert uploads.delete_unclaimed_uploads(older_than=timedelta(0)) and not Attachment.objects.exists()


def test_cancelling_an_upload_removes_it(alice, alice_client, bob, django_capture_on_commit_callbacks):
    photo = make_upload(alice)
    other = make_user("carol")
    with django_capture_on_commit_callbacks(execute=True):
        uploads.cancel_upload(user=other, attachment_id=photo.pk)  # not hers: nothing happens
        assert Attachment.objects.exists()
        assert alice_client.post(reverse("upload_cancel", args=[photo.pk])).status_code == 204
    assert not Attachment.objects.exists() and not default_storage.exists(photo.file.name)


def test_the_chat_page_tells_the_composer_the_limits(alice, alice_client, direct, settings):
    settings.UPLOAD_QUOTA_BYTES = 10_000_000
    item = make_upload(alice, "report.pdf", PDF)
    page = alice_client.get(reverse("conversation", args=[direct.pk])).content.decode()
    assert f'data-upload-quota-left="{10_000_000 - item.size}"' in page
    assert f'data-upload-max-bytes="{settings.UPLOAD_MAX_BYTES}"' in page and 'data-upload-start-url' not in page
