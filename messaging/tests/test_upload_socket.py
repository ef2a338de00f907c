"""message.send over the socket claims uploads: the ack, the live HTML with the files, a retry
stored once, someone else's upload refused with an error frame."""

import pytest
from channels.db import database_sync_to_async

from conftest import make_user
from messaging import services
from messaging.models import Attachment, Message

from .files import PDF
from .test_consumer import connect, next_of_type, nothing_more
from .test_uploads import make_upload

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _setup():
    ana, bo = make_user("ana"), make_user("bo")
    chat = services.get_or_create_direct_conversation(user=ana, other_id=bo.pk)
    return ana, bo, chat, make_upload(ana), make_upload(ana, "report.pdf", PDF)


async def test_a_socket_send_claims_its_uploads_once(db):
    ana, bo, chat, photo, pdf = await _setup()
    ana_ws, _, _ = await connect(ana)
    bo_ws, _, _ = await connect(bo)
    frame = {"type": "message.send", "conversation": chat.pk, "body": "trip", "client_id": "f-1",
             "attachments": [photo.pk, pdf.pk]}
    await ana_ws.send_json_to(frame)
    ack = await next_of_type(ana_ws, "message.ack")
    assert ack["duplicate"] is False
    created = await next_of_type(bo_ws, "message.created")
    assert f'/files/{photo.pk}/?thumbnail=1' in created["html"] and "report.pdf" in created["html"]
    await ana_ws.send_json_to(frame)  # the ack was lost: the same frame again
    again = await next_of_type(ana_ws, "message.ack")
    assert again["duplicate"] is True and again["id"] == ack["id"]
    assert await nothing_more(bo_ws)
    assert await database_sync_to_async(lambda: list(Attachment.objects.values_list("message_id", flat=True)))() == [ack["id"]] * 2
    await ana_ws.disconnect()
    await bo_ws.disconnect()


async def test_claiming_someone_elses_upload_over_the_socket_is_refused(db):
    ana, bo, chat, photo, _ = await _setup()
    bo_ws, _, _ = await connect(bo)
    await bo_ws.send_json_to({"type": "message.send", "conversation": chat.pk, "body": "", "client_id": "b-1",
                              "attachments": [photo.pk]})
    error = await next_of_type(bo_ws, "error")
    assert error["code"] == "not_found" and error["field"] == "attachments" and error["client_id"] == "b-1"
    assert not await database_sync_to_async(Message.objects.exists)()
    await bo_ws.disconnect()
