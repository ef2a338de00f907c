"""A bot written only against the documented API (/api/v1/openapi.json) and socket protocol
(docs/socket-protocol.md), against a live server on 127.0.0.1: it signs in with a personal access
token, registers a webhook on a local HTTP server, opens the socket with its token, accepts a group
invitation, answers a message in real time, uploads a file and sends it, and receives signed
webhook calls. The bot's code uses nothing of the project: HTTP with urllib, the socket with the
``websockets`` client, HMAC with hashlib.

The people around it (a human who makes the group, invites the bot and writes to it) use the
site's services directly: they are the test's set-up, not the bot.
"""

import asyncio
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
import websockets
from channels.db import database_sync_to_async

from accounts.services import tokens
from conftest import make_user
from groups import services as group_services
from messaging import services
from messaging.models import Message
from messaging.tests.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


async def in_db(function, /, *args, **kwargs):
    """The set-up's database work, in a thread whose connection is closed after it (PostgreSQL
    then lets the test database be dropped at the end)."""
    return await database_sync_to_async(function)(*args, **kwargs)


# --- the live server ------------------------------------------------------------------------------

@pytest.fixture
def live_server_url(transactional_db):
    import socket

    import uvicorn

    from chatsite.asgi import application

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app=application, host="127.0.0.1", port=port, ws="websockets-sansio",
                                           lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, name="bot-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the live server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    from chatsite.realtime import stop_database_threads

    stop_database_threads()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the bot's receiver is on 127.0.0.1
    server = Receiver().start()
    yield server
    server.stop()


# --- the bot: the documented API and socket protocol, nothing else --------------------------------

class Bot:
    def __init__(self, base_url: str, token: str):
        self.base, self.token = base_url, token
        self.ws = None
        self.events: asyncio.Queue = asyncio.Queue()

    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
        request = urllib.request.Request(self.base + path, data=body, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw or b"null")
        except ValueError:
            return status, raw.decode(errors="replace")[:200]  # not the API's JSON: say what came

    async def call(self, method: str, path: str, payload=None):
        body = json.dumps(payload).encode() if payload is not None else None
        return await asyncio.to_thread(self._request, method, path, body, "application/json" if body else None)

    async def upload(self, path: str, name: str, data: bytes, content_type: str):
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                f"Content-Type: {content_type}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        return await asyncio.to_thread(self._request, "POST", path, body, f"multipart/form-data; boundary={boundary}")

    async def connect(self):
        url = self.base.replace("http://", "ws://") + "/ws/"
        self.ws = await websockets.connect(url, subprotocols=["chat.v1", f"bearer.{self.token}"])
        assert self.ws.subprotocol == "chat.v1"
        hello = json.loads(await self.ws.recv())
        assert hello["type"] == "hello"
        self.reader = asyncio.ensure_future(self._read())
        return hello["user_id"]

    async def _read(self):
        async for text in self.ws:
            await self.events.put(json.loads(text))

    async def next(self, wanted: str, where=lambda event: True, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            event = await asyncio.wait_for(self.events.get(), timeout=max(deadline - time.monotonic(), 0.01))
            if event["type"] == wanted and where(event):
                return event

    async def send(self, frame: dict):
        await self.ws.send(json.dumps(frame))

    async def close(self):
        await self.ws.close()
        self.reader.cancel()


def signature_ok(secret: str, headers: dict, body: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), f"{headers['x-chat-timestamp']}.{body}".encode(),
                                    hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-chat-signature"])


def png_bytes() -> bytes:
    """A small image, made here (the server sniffs and re-encodes images)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


async def test_a_bot_signs_in_joins_answers_uploads_and_is_called_back(live_server_url, receiver):
    human = await in_db(make_user, "hana", first_name="Hana")
    bot_user = await in_db(make_user, "beepbot", first_name="Beep")
    token = (await in_db(tokens.create_api_token, user=bot_user, name="bot")).secret

    bot = Bot(live_server_url, token)
    status, me = await bot.call("GET", "/api/v1/me")
    assert status == 200 and me["username"] == "beepbot"
    status, webhook = await bot.call("POST", "/api/v1/webhooks", {"url": receiver.url})
    assert status == 201, webhook
    assert await bot.connect() == me["id"]

    # A person makes a group and invites the bot; the bot hears of it on its socket and accepts.
    group = await in_db(group_services.create_group, user=human, title="Ops")
    await in_db(group_services.invite, user=human, conversation_id=group.pk, invitee_id=me["id"])
    invitation = await bot.next("invitation.changed", lambda e: e["status"] == "pending")
    assert invitation["conversation"] == group.pk and invitation["html"] is None
    status, accepted = await bot.call("POST", f"/api/v1/invitations/{invitation['id']}/accept")
    assert status in (200, 201), accepted
    await bot.next("conversation.joined", lambda e: e["conversation"] == group.pk)

    # The person writes; the bot answers in real time over the socket.
    await in_db(services.send_message, user=human, conversation_id=group.pk, body="ping, bot?")
    created = await bot.next("message.created", lambda e: (e["message"]["sender"] or {}).get("username") == "hana")
    assert created["message"]["body"] == "ping, bot?" and created["conversation"] == group.pk
    await bot.send({"type": "message.send", "conversation": group.pk, "body": "pong, Hana",
                    "client_id": f"reply-{created['message']['id']}", "reply_to": created["message"]["id"]})
    ack = await bot.next("message.ack")
    assert ack["conversation"] == group.pk and not ack["duplicate"]

    # It uploads a file and sends it.
    status, upload = await bot.upload("/api/v1/uploads", "chart.png", png_bytes(), "image/png")
    assert status in (200, 201), upload
    await bot.send({"type": "message.send", "conversation": group.pk, "body": "the chart",
                    "client_id": "chart-1", "attachments": [upload["id"]]})
    sent = await bot.next("message.created", lambda e: e["message"]["client_id"] == "chart-1")
    assert [a["kind"] for a in sent["message"]["attachments"]] == ["image"]

    # Its webhook was called for the person's message, signed with its secret.
    def ping_calls():
        return [c for c in receiver.calls if c.headers.get("x-chat-event") == "message.created"
                and json.loads(c.body)["message"]["body"] == "ping, bot?"]
    deadline = time.monotonic() + 5
    while not ping_calls():
        assert time.monotonic() < deadline, [c.headers.get("x-chat-event") for c in receiver.calls]
        await asyncio.sleep(0.05)
    call = ping_calls()[0]
    assert signature_ok(webhook["secret"], call.headers, call.body)
    assert not signature_ok("whsec_not-the-secret", call.headers, call.body)
    assert json.loads(call.body)["conversation"] == group.pk
    assert "invitation.changed" in [c.headers["x-chat-event"] for c in receiver.calls]
    await bot.close()

    stored = await in_db(lambda: list(Message.objects.filter(conversation_id=group.pk, sender=bot_user)
                                                  .values_list("body", "reply_to_id", "kind")))
    assert stored == [("pong, Hana", created["message"]["id"], "text"), ("the chart", None, "image")]
