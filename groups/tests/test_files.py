"""Files in groups: a removed member cannot download, deleting the group deletes its files."""

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from groups import services
from messaging import services as message_services
from messaging.tests.test_uploads import make_upload

pytestmark = pytest.mark.django_db


def test_a_member_removed_before_the_file_was_posted_cannot_download_it(client, crew):
    services.remove_member(user=crew["owner"], conversation_id=crew["group"].pk, member_id=crew["member"].pk)
    photo = make_upload(crew["admin"])
    message_services.send_message(user=crew["admin"], conversation_id=crew["group"].pk, body="", attachment_ids=[photo.pk])
    client.force_login(crew["member"])
    assert client.get(reverse("attachment", args=[photo.pk])).status_code == 404
    assert client.get(reverse("attachment", args=[photo.pk]) + "?thumbnail=1").status_code == 404
    client.force_login(crew["owner"])
    assert client.get(reverse("attachment", args=[photo.pk])).status_code == 200


def test_deleting_a_group_deletes_its_files(crew, django_capture_on_commit_callbacks):
    photo = make_upload(crew["member"])
    message_services.send_message(user=crew["member"], conversation_id=crew["group"].pk, body="", attachment_ids=[photo.pk])
    names = [photo.file.name, photo.thumbnail.name]
    assert all(default_storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_group(user=crew["owner"], conversation_id=crew["group"].pk)
    assert not any(default_storage.exists(n) for n in names)
