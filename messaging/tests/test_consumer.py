"""The WebSocket, driven through the real ASGI stack (Origin check, session auth, routing)."""

import asyncio
import json
from importlib import import_module

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

from chatsite.asgi import application
from conftest import make_user
from messaging import services
from messaging.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie_for(user) -> str:
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


async def connect(user=None, origin="http://localhost"):
    headers = [(b"origin", origin.encode()), (b"host", b"localhost")]
    if user is not None:
        cookie = await database_sync_to_async(session_cookie_for)(user)
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, code = await communicator.connect()
    if connected:
        hello = await communicator.receive_json_from()
        assert hello["type"] == "hello"
    return communicator, connected, code


async def next_of_type(communicator, wanted: str, timeout=3):
    """The next frame of type ``wanted``; frames of other types before it are skipped."""
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        if frame["type"] == wanted:
            return frame


async def nothing_more(communicator, timeout=0.3, ignore=("presence.changed",)):
    """True when nothing but presence news (people coming and going) arrives within ``timeout``."""
    while not await communicator.receive_nothing(timeout=timeout):
        frame = await communicator.receive_json_from()
        if frame["type"] not in ignore:
            return False
    return True


@pytest.fixture
def people(db):
    return make_user("ana"), make_user("bo"), make_user("cy")


async def test_anonymous_socket_is_refused():
    communicator, connected, code = await connect(None)
    assert not connected
    assert code == 4401


async def test_foreign_origin_is_refused(people):
    ana, _, _ = people
    communicator, connected, _ = await connect(ana, origin="https://evil.example")
    assert not connected


async def test_member_receives_own_conversations_only(people):
    ana, bo, cy = people
    ana_bo = await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    bo_cy = await database_sync_to_async(services.get_or_create_direct_conversation)(user=bo, other_id=cy.pk)
    ana_ws, _, _ = await connect(ana)
    await database_sync_to_async(services.send_message)(user=bo, conversation_id=bo_cy.pk, body="for cy only")
    await database_sync_to_async(services.send_message)(user=bo, conversation_id=ana_bo.pk, body="for ana")
    frame = await next_of_type(ana_ws, "message.created")
    assert frame["conversation"] == ana_bo.pk and frame["seq"] == 1
    assert "for ana" in frame["html"] and f'data-sender-id="{bo.pk}"' in frame["html"]
    assert await nothing_more(ana_ws)
    await ana_ws.disconnect()


async def test_send_over_socket_acks_and_broadcasts_and_retry_is_stored_once(people):
    ana, bo, _ = people
    chat = await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    ana_ws, _, _ = await connect(ana)
    bo_ws, _, _ = await connect(bo)
    frame = {"type": "message.send", "conversation": chat.pk, "body": "hi *bo*", "client_id": "ana-1"}
    await ana_ws.send_json_to(frame)
    ack = await next_of_type(ana_ws, "message.ack")
    assert ack == {"type": "message.ack", "client_id": "ana-1", "conversation": chat.pk, "seq": 1, "id": ack["id"], "duplicate": False}
    created = await next_of_type(bo_ws, "message.created")
    assert created["client_id"] == "ana-1" and "<em>bo</em>" in created["html"]
    # The network dropped the ack: the browser sends the same frame again.
    await ana_ws.send_json_to(frame)
    again = await next_of_type(ana_ws, "message.ack")
    assert again["duplicate"] is True and again["seq"] == 1
    assert await database_sync_to_async(Message.objects.filter(conversation=chat).count)() == 1
    assert await nothing_more(bo_ws)
    await ana_ws.disconnect()
    await bo_ws.disconnect()


async def test_bad_send_gets_an_error_and_stores_nothing(people):
    ana, bo, cy = people
    chat = await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    cy_ws, _, _ = await connect(cy)
    await cy_ws.send_json_to({"type": "message.send", "conversation": chat.pk, "body": "intruder", "client_id": "x1"})
    error = await next_of_type(cy_ws, "error")
    assert error["client_id"] == "x1" and "not a member" in error["error"]
    await cy_ws.send_json_to({"type": "message.send", "conversation": chat.pk, "body": "   ", "client_id": "x2"})
    assert "needs some text" in (await next_of_type(cy_ws, "error"))["error"]
    await cy_ws.send_to(text_data="not json")
    assert (await next_of_type(cy_ws, "error"))["error"].startswith("That frame is not valid JSON")
    await cy_ws.send_json_to({"type": "launch.missiles"})
    assert "Unknown frame type" in (await next_of_type(cy_ws, "error"))["error"]
    assert await database_sync_to_async(Message.objects.count)() == 0
    await cy_ws.disconnect()


async def test_resume_after_a_gap_returns_exactly_the_missing_messages_in_order(people):
    ana, bo, _ = people
    chat = await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    for i in range(3):
        await database_sync_to_async(services.send_message)(user=ana, conversation_id=chat.pk, body=f"before {i}")
    # Bo's tab holds seq 1..3, goes offline; five messages are sent meanwhile.
    for i in range(5):
        await database_sync_to_async(services.send_message)(user=ana, conversation_id=chat.pk, body=f"while away {i}")
    bo_ws, _, _ = await connect(bo)
    await bo_ws.send_json_to({"type": "resume", "conversation": chat.pk, "after_seq": 3})
    history = await next_of_type(bo_ws, "history")
    assert [m["seq"] for m in history["messages"]] == [4, 5, 6, 7, 8]
    assert [f"while away {i}" in m["html"] for i, m in enumerate(history["messages"])] == [True] * 5
    assert history["more"] is False
    await bo_ws.disconnect()


async def test_resume_of_a_foreign_conversation_is_refused(people):
    ana, bo, cy = people
    chat = await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    await database_sync_to_async(services.send_message)(user=ana, conversation_id=chat.pk, body="secret")
    cy_ws, _, _ = await connect(cy)
    await cy_ws.send_json_to({"type": "resume", "conversation": chat.pk, "after_seq": 0})
    error = await next_of_type(cy_ws, "error")
    assert "secret" not in json.dumps(error)
    await cy_ws.disconnect()


async def test_typing_reaches_the_other_member_not_the_typist(people):
    ana, bo, _ = people
    chat = await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    ana_ws, _, _ = await connect(ana)
    bo_ws, _, _ = await connect(bo)
    await ana_ws.send_json_to({"type": "typing", "conversation": chat.pk})
    typing = await next_of_type(bo_ws, "typing.started")
    assert typing["user_id"] == ana.pk and typing["name"] == ana.first_name
    assert await nothing_more(ana_ws)
    await ana_ws.disconnect()
    await bo_ws.disconnect()


async def test_read_frame_advances_watermark_and_tells_the_sender(people):
    ana, bo, _ = people
    chat = await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    await database_sync_to_async(services.send_message)(user=ana, conversation_id=chat.pk, body="did you see this?")
    ana_ws, _, _ = await connect(ana)
    bo_ws, _, _ = await connect(bo)
    await bo_ws.send_json_to({"type": "read", "conversation": chat.pk, "seq": 1})
    receipt = await next_of_type(ana_ws, "receipt.updated")
    assert receipt == {"type": "receipt.updated", "conversation": chat.pk, "user_id": bo.pk, "read_seq": 1, "delivered_seq": 1}
    changed = await next_of_type(bo_ws, "conversation.changed")
    assert changed["unread"] == 0
    await ana_ws.disconnect()
    await bo_ws.disconnect()


async def test_new_conversation_is_joined_live_without_reconnecting(people):
    ana, bo, _ = people
    bo_ws, _, _ = await connect(bo)
    chat = await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    joined = await next_of_type(bo_ws, "conversation.joined")
    assert joined["conversation"] == chat.pk
    await database_sync_to_async(services.send_message)(user=ana, conversation_id=chat.pk, body="first contact")
    created = await next_of_type(bo_ws, "message.created")
    assert created["conversation"] == chat.pk
    await bo_ws.disconnect()


async def test_two_tabs_of_one_user_both_receive(people):
    ana, bo, _ = people
    chat = await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    tabs = [(await connect(bo))[0] for _ in range(2)]
    await database_sync_to_async(services.send_message)(user=ana, conversation_id=chat.pk, body="both tabs")
    frames = await asyncio.gather(*(next_of_type(tab, "message.created") for tab in tabs))
    assert [f["seq"] for f in frames] == [1, 1]
    for tab in tabs:
        await tab.disconnect()


async def test_bad_frames_get_an_error_and_the_socket_lives_on(people):
    ana, bo, _ = people
    chat = await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    ws, _, _ = await connect(ana)
    for frame in ({"type": ["x"]}, {"type": "read", "conversation": 10**30, "seq": 1},
                  {"type": "message.send", "conversation": chat.pk, "body": "hi", "reply_to": "abc", "client_id": "r1"},
                  {"type": "resume", "conversation": chat.pk, "after_seq": "x"}):
        await ws.send_json_to(frame)
        assert (await next_of_type(ws, "error"))["error"]
    await ws.send_json_to({"type": "ping"})
    assert (await next_of_type(ws, "pong"))["type"] == "pong"
    await ws.disconnect()


async def test_socket_send_tells_offline_members_after_the_message_went_out(people):
    from accounts.models import Notification

    ana, bo, _ = people
    chat = await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    ana_ws, _, _ = await connect(ana)  # bo has no tab open
    await ana_ws.send_json_to({"type": "message.send", "conversation": chat.pk, "body": "are you there", "client_id": "a-9"})
    await next_of_type(ana_ws, "message.ack")

    async def notification_text():
        for _ in range(50):  # the follow-up runs after the ack: give it a moment
            row = await database_sync_to_async(Notification.objects.filter(recipient=bo).values_list("text", flat=True).first)()
            if row:
                return row
            await asyncio.sleep(0.02)

    assert await notification_text() == f"New message from {ana.display_name}"
    assert not await database_sync_to_async(Notification.objects.filter(recipient=ana).exists)()
    await ana_ws.disconnect()
