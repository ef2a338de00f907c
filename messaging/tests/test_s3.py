"""The storage tests again on S3, served by moto's server mode on 127.0.0.1 (conftest.s3_storage):
objects private, presigned URLs short-lived, presigned POSTs bound to one key, type and size, the
server's check of what arrived, files removed on delete."""

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse

from conftest import make_user
from messaging import services, uploads
from messaging.models import Attachment

from .files import PDF, image_bytes, jpeg_with_gps
from .test_uploads import make_upload

pytestmark = pytest.mark.django_db


def exists(storage, key: str) -> bool:
    return bool(key) and storage.exists(key)


def unsigned_url(storage, key: str) -> str:
    return f"{storage.endpoint_url}/{storage.bucket_name}/{key}"


def test_uploads_are_private_objects(s3_storage, alice, direct):
    photo = make_upload(alice, "photo.jpg", jpeg_with_gps())
    assert exists(s3_storage, photo.file.name) and exists(s3_storage, photo.thumbnail.name)
    acl = s3_storage.connection.meta.client.get_object_acl(Bucket=s3_storage.bucket_name, Key=photo.file.name)
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    assert all(g["Grantee"].get("URI") is None for g in acl["Grants"])  # no AllUsers / AuthenticatedUsers
    assert requests.get(unsigned_url(s3_storage, photo.file.name), timeout=10).status_code == 403
    assert requests.get(unsigned_url(s3_storage, photo.thumbnail.name), timeout=10).status_code == 403


def test_downloads_redirect_to_presigned_urls_of_five_minutes_at_most(s3_storage, client, alice, bob, direct, settings):
    settings.AWS_QUERYSTRING_EXPIRE = 3600  # asked for an hour: still five minutes
    photo, pdf = make_upload(alice, "photo.jpg", jpeg_with_gps()), make_upload(alice, "report.pdf", PDF)
    services.send_message(user=alice, conversation_id=direct.pk, body="", attachment_ids=[photo.pk, pdf.pk])
    client.force_login(bob)
    for url, disposition, content_type in ((reverse("attachment", args=[photo.pk]), "inline", "image/jpeg"),
                                           (reverse("attachment", args=[photo.pk]) + "?thumbnail=1", "inline", "image/webp"),
                                           (reverse("attachment", args=[pdf.pk]), "attachment", "application/pdf")):
        response = client.get(url)
        assert response.status_code == 302 and response["Cache-Control"] == "private, no-store"
        location = response["Location"]
        assert location.startswith(s3_storage.endpoint_url)
        query = parse_qs(urlsplit(location).query)
        assert int(query["X-Amz-Expires"][0]) <= 300 and "X-Amz-Signature" in query
        fetched = requests.get(location, timeout=10)
        assert fetched.status_code == 200
        assert fetched.headers["Content-Disposition"].startswith(disposition)
        assert fetched.headers["Content-Type"] == content_type
    client.force_login(make_user("mallory"))
    assert client.get(reverse("attachment", args=[photo.pk])).status_code == 404


def test_the_page_csp_admits_the_bucket(s3_storage, alice_client, direct):
    policy = alice_client.get(reverse("conversation", args=[direct.pk]))["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}
    for name in ("img-src", "media-src", "connect-src"):
        assert s3_storage.endpoint_url in directives[name], name
    assert s3_storage.endpoint_url not in directives["script-src"]


def _post(post: dict, data: bytes, content_type: str) -> requests.Response:
    return requests.post(post["url"], data=post["fields"], files={"file": ("x", data, content_type)}, timeout=10)


def test_a_direct_upload_goes_to_the_bucket_and_is_checked(s3_storage, alice, alice_client, direct):
    original = jpeg_with_gps(size=(800, 600))
    response = alice_client.post(reverse("upload_start"), {"name": "trip.jpg", "size": len(original),
                                                          "content_type": "image/jpeg"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 201, response.content
    started = response.json()
    pending = Attachment.objects.get(pk=started["id"])
    assert pending.status == Attachment.Status.PENDING
    # Not claimable until the server has checked it.
    with pytest.raises(services.NotFound):
        services.send_message(user=alice, conversation_id=direct.pk, body="", attachment_ids=[pending.pk])
    # The signed policy: this key only, this type only, at most the size announced.
    policy = json.loads(base64.b64decode(started["fields"]["policy"]))
    conditions = policy["conditions"]
    assert {"key": pending.file.name} in conditions and {"Content-Type": "image/jpeg"} in conditions
    assert ["content-length-range", 1, len(original)] in conditions
    assert {"bucket": s3_storage.bucket_name} in conditions and policy["expiration"]
    assert _post(started, original, "image/jpeg").status_code in (200, 204)
    finished = alice_client.post(reverse("upload_finish", args=[pending.pk]), HTTP_ACCEPT="application/json")
    assert finished.status_code == 201, finished.content
    ready = Attachment.objects.get(pk=pending.pk)
    assert ready.status == Attachment.Status.READY and ready.kind == "image" and (ready.width, ready.height) == (800, 600)
    assert ready.file.name != pending.file.name and not exists(s3_storage, pending.file.name)  # re-encoded copy
    with s3_storage.open(ready.file.name, "rb") as handle:
        assert b"Secret Camera" not in handle.read()
    assert exists(s3_storage, ready.thumbnail.name)
    message = services.send_message(user=alice, conversation_id=direct.pk, body="", attachment_ids=[ready.pk]).message
    assert message.kind == "image"


def test_the_server_refuses_what_breaks_the_policy(s3_storage, alice, alice_client, django_capture_on_commit_callbacks):
    """moto stores whatever is posted (it does not evaluate POST policies), so what S3 would refuse
    arrives here: the server's own check must refuse it too."""
    start = {"name": "small.png", "size": 100, "content_type": "image/png"}
    started = alice_client.post(reverse("upload_start"), start, HTTP_ACCEPT="application/json").json()
    _post(started, image_bytes("PNG", size=(300, 300)) + b"\0" * 200, "image/png")
    with django_capture_on_commit_callbacks(execute=True):
        refused = alice_client.post(reverse("upload_finish", args=[started["id"]]), HTTP_ACCEPT="application/json")
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "file_too_large"
    assert not Attachment.objects.filter(pk=started["id"]).exists()
    key = started["fields"]["key"]
    assert not exists(s3_storage, key)

    started = alice_client.post(reverse("upload_start"), {"name": "doc.pdf", "size": 1000, "content_type": "application/pdf"},
                                HTTP_ACCEPT="application/json").json()
    _post(started, image_bytes("PNG"), "application/pdf")  # not a PDF
    with django_capture_on_commit_callbacks(execute=True):
        refused = alice_client.post(reverse("upload_finish", args=[started["id"]]), HTTP_ACCEPT="application/json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "file_refused"
    assert not exists(s3_storage, started["fields"]["key"])


def test_direct_uploads_are_refused_over_the_limits(s3_storage, alice_client, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    response = alice_client.post(reverse("upload_start"), {"name": "a.pdf", "size": 1001, "content_type": "application/pdf"},
                                 HTTP_ACCEPT="application/json")
    assert response.status_code == 413 and response.json()["error"]["code"] == "file_too_large"
    settings.UPLOAD_QUOTA_BYTES = 1500
    ok = {"name": "a.pdf", "size": 1000, "content_type": "application/pdf"}
    assert alice_client.post(reverse("upload_start"), ok, HTTP_ACCEPT="application/json").status_code == 201
    response = alice_client.post(reverse("upload_start"), ok, HTTP_ACCEPT="application/json")
    assert response.status_code == 413 and response.json()["error"]["code"] == "over_quota"


def test_someone_elses_direct_upload_cannot_be_finished(s3_storage, alice_client, bob):
    started = alice_client.post(reverse("upload_start"), {"name": "a.pdf", "size": 100, "content_type": "application/pdf"},
                                HTTP_ACCEPT="application/json").json()
    with pytest.raises(services.NotFound):
        uploads.finish_direct_upload(user=bob, attachment_id=started["id"])


def test_files_are_removed_from_the_bucket_on_delete(s3_storage, alice, direct, django_capture_on_commit_callbacks):
    photo = make_upload(alice, "photo.jpg", jpeg_with_gps())
    message = services.send_message(user=alice, conversation_id=direct.pk, body="x", attachment_ids=[photo.pk]).message
    keys = [photo.file.name, photo.thumbnail.name]
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_message(user=alice, message_id=message.pk)
    assert not any(exists(s3_storage, k) for k in keys)
    stale = make_upload(alice, "report.pdf", PDF)
    with django_capture_on_commit_callbacks(execute=True):
        from datetime import timedelta

        uploads.delete_unclaimed_uploads(older_than=timedelta(0))
    assert not exists(s3_storage, stale.file.name)


def test_deleting_a_group_removes_its_objects(s3_storage, alice, bob, django_capture_on_commit_callbacks):
    from groups import services as group_services

    group = group_services.create_group(user=alice, title="Trip", member_ids=[bob.pk])
    photo = make_upload(bob, "photo.jpg", jpeg_with_gps())
    services.send_message(user=bob, conversation_id=group.pk, body="", attachment_ids=[photo.pk])
    with django_capture_on_commit_callbacks(execute=True):
        group_services.delete_group(user=alice, conversation_id=group.pk)
    assert not exists(s3_storage, photo.file.name) and not exists(s3_storage, photo.thumbnail.name)
