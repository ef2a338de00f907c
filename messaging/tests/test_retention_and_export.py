"""purge_messages (retention) and export_user_data (data-access requests), as operators run them."""

import json
import zipfile
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone

from conftest import make_user
from messaging import services
from messaging.models import Attachment, Conversation, Message, Reaction

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "media")}}}


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def attach(message, uploader, data: bytes, name: str) -> Attachment:
    return Attachment.objects.create(message=message, uploader=uploader, file=ContentFile(data, name=name),
                                     kind="file", content_type="application/pdf", size=len(data), original_name=name)


def age(message, days: int) -> None:
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(days=days))


@pytest.fixture
def history(alice, bob, direct):
    old = services.send_message(user=alice, conversation_id=direct.pk, body="old news").message
    age(old, 40)
    old_file = attach(old, alice, b"%PDF old", "old.pdf")
    services.toggle_reaction(user=bob, message_id=old.pk, emoji="👍")
    new = services.send_message(user=bob, conversation_id=direct.pk, body="fresh").message
    return {"old": old, "old_file": old_file, "new": new, "chat": direct}


# --- purge_messages ---------------------------------------------------------------------------------
def test_dry_run_counts_and_changes_nothing(history):
    output = run("purge_messages", "--older-than", "30", "--dry-run")

    assert "Would delete 1 messages and 1 files" in output
    assert Message.objects.filter(pk=history["old"].pk).exists()
    assert default_storage.exists(history["old_file"].file.name)


def test_purge_deletes_old_messages_with_their_files_and_keeps_the_rest(history, django_capture_on_commit_callbacks):
    name = history["old_file"].file.name

    with django_capture_on_commit_callbacks(execute=True):
        output = run("purge_messages", "--older-than", "30")

    assert "Deleted 1 messages and 1 files" in output
    assert not Message.objects.filter(pk=history["old"].pk).exists()
    assert not Attachment.objects.exists() and not Reaction.objects.exists()
    assert not default_storage.exists(name)
    assert Message.objects.filter(pk=history["new"].pk).exists()
    assert Conversation.objects.filter(pk=history["chat"].pk).exists()


def test_purge_in_one_conversation_only(history, alice, bob):
    group = Conversation.objects.create(kind="group", title="Other")
    other = Message.objects.create(conversation=group, seq=1, sender=alice, body="elsewhere")
    age(other, 90)

    run("purge_messages", "--older-than", "30", "--conversation", str(group.pk))

    assert not Message.objects.filter(pk=other.pk).exists()
    assert Message.objects.filter(pk=history["old"].pk).exists()


@pytest.mark.parametrize("args", [["--older-than", "0"], ["--older-than", "5", "--conversation", "999999"]])
def test_purge_refuses_bad_arguments(history, args):
    with pytest.raises(CommandError):
        run("purge_messages", *args)
    assert Message.objects.count() == 2


# --- export_user_data -------------------------------------------------------------------------------
def test_export_holds_everything_of_the_person_and_nothing_of_anyone_else(history, alice, bob, tmp_path):
    attach(history["new"], bob, b"%PDF bob's", "bob-secret.pdf")
    services.send_message(user=bob, conversation_id=history["chat"].pk, body="bob's private words")
    services.send_message(user=alice, conversation_id=history["chat"].pk, body="alice says hi")
    path = tmp_path / "alice.zip"

    output = run("export_user_data", "alice@example.com", "--output", str(path))

    assert "Wrote" in output
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        everything = b"".join(archive.read(name) for name in names)
        profile = json.loads(archive.read("profile.json"))
        messages = json.loads(archive.read("messages.json"))
        conversations = json.loads(archive.read("conversations.json"))
        files = json.loads(archive.read("files.json"))
        assert archive.read(f"files/{history['old_file'].pk}-old.pdf") == b"%PDF old"
    assert profile["username"] == "alice" and profile["emails"][0]["email"] == "alice@example.com"
    assert [m["body"] for m in messages] == ["old news", "alice says hi"]
    assert conversations == [{"id": history["chat"].pk, "kind": "direct", "role": "member",
                              "joined_at": conversations[0]["joined_at"], "with": "bob"}]
    assert len(files) == 1
    for foreign in (b"fresh", b"bob's private words", b"bob-secret", b"%PDF bob's", bob.password.encode()):
        assert foreign not in everything
    assert alice.password.encode() not in everything


def test_export_of_nobody_is_refused(db):
    make_user("alice")
    with pytest.raises(CommandError, match="No one is"):
        run("export_user_data", "nobody")
