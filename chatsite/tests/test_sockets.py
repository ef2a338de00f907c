"""The socket transport: frames in (parsed, validated, limited, routed), events out (routed,
bounded), and the edges (Origin, sign-in, too many sockets, cleanup however a socket ends)."""

import asyncio
import json
import time

import pytest
from channels.db import database_sync_to_async

from accounts.services import presence
from chatsite import protocol
from chatsite.asgi import application
from chatsite.consumers import SocketConsumer
from chatsite.ratelimit import parse_rate
from chatsite.realtime import frame_types
from conftest import make_user
from groups import services as group_services
from messaging import services
from messaging.tests.test_consumer import connect, next_of_type, nothing_more, session_cookie_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people(db):
    return make_user("ana"), make_user("bo")


class RawSocket:
    """The ASGI side of one socket, whose client can stop reading (``stall``) like a tab on a
    frozen laptop: the server's sends then block, as they do on a full TCP send buffer."""

    def __init__(self, user):
        self.user = user
        self.incoming: asyncio.Queue = asyncio.Queue()
        self.outgoing: list[dict] = []
        self.reading = asyncio.Event()
        self.reading.set()

    async def open(self):
        cookie = await database_sync_to_async(session_cookie_for)(self.user)
        scope = {"type": "websocket", "path": "/ws/", "raw_path": b"/ws/", "query_string": b"", "scheme": "ws",
                 "headers": [(b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", cookie.encode())],
                 "subprotocols": [], "client": ("127.0.0.1", 5000), "server": ("localhost", 80)}
        self.app = asyncio.ensure_future(application(scope, self.incoming.get, self._send))
        await self.incoming.put({"type": "websocket.connect"})
        await self.wait_for(lambda: any(m.get("text", "").startswith('{"type": "hello"') for m in self.outgoing))

    async def _send(self, message):
        await self.reading.wait()
        self.outgoing.append(message)

    async def wait_for(self, condition, timeout=5):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; got {self.outgoing}")
            await asyncio.sleep(0.01)

    def texts(self) -> list[str]:
        return [m["text"] for m in self.outgoing if m["type"] == "websocket.send"]

    def close_codes(self) -> list[int]:
        return [m.get("code") for m in self.outgoing if m["type"] == "websocket.close"]


async def test_a_socket_that_cannot_keep_up_is_closed_for_resume_and_catches_up_on_reconnect(people, settings):
    ana, bo = people
    settings.SOCKET_INBOX_SIZE = 5
    chat = await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    tab = RawSocket(bo)
    await tab.open()
    tab.reading.clear()  # Bo's tab stops reading
    for n in range(10):
        await database_sync_to_async(services.send_message)(user=ana, conversation_id=chat.pk, body=f"burst {n}")
    await asyncio.sleep(0.2)
    tab.reading.set()  # the close frame can go out now
    await asyncio.wait_for(tab.app, timeout=5)  # the server ended the socket: its memory is freed
    assert tab.close_codes() == [protocol.CLOSE_LAGGING]
    assert not any("burst" in text for text in tab.texts())
    # The tab reconnects (as socket.js does on 4001) and resumes from the last seq it holds.
    again, _, _ = await connect(bo)
    await again.send_json_to({"type": "resume", "conversation": chat.pk, "after_seq": 0})
    history = await next_of_type(again, "history")
    assert [m["seq"] for m in history["messages"]] == list(range(1, 11))
    await again.disconnect()


async def test_a_removed_member_whose_inbox_is_full_receives_nothing_of_that_chat_afterwards(settings):
    settings.SOCKET_INBOX_SIZE = 3
    olga, mia = await database_sync_to_async(make_user)("olga"), await database_sync_to_async(make_user)("mia")
    group = await database_sync_to_async(group_services.create_group)(user=olga, title="Crew", member_ids=[mia.pk])
    tab = RawSocket(mia)
    await tab.open()
    tab.reading.clear()
    send = database_sync_to_async(services.send_message)
    for n in range(3):
        await send(user=olga, conversation_id=group.pk, body=f"before {n}")
    await database_sync_to_async(group_services.remove_member)(user=olga, conversation_id=group.pk, member_id=mia.pk)
    for n in range(5):
        await send(user=olga, conversation_id=group.pk, body=f"after removal {n}")
    await asyncio.sleep(0.2)
    tab.reading.set()
    await asyncio.wait_for(tab.app, timeout=5)
    assert not any("after removal" in text for text in tab.texts())
    assert tab.close_codes() == [protocol.CLOSE_LAGGING]
    again, _, _ = await connect(mia)  # the reconnect no longer follows the group
    await database_sync_to_async(services.send_message)(user=olga, conversation_id=group.pk, body="after reconnect")
    await again.send_json_to({"type": "resume", "conversation": group.pk, "after_seq": 0})
    error = await next_of_type(again, "error")
    assert error["code"] == "not_member" and error["for"] == "resume"
    assert await nothing_more(again)
    await again.disconnect()


async def test_a_socket_still_receives_after_a_day_on_the_layer(people, monkeypatch):
    """Channels' in-memory layer drops group members 86,400 s after they joined (group_expiry)."""
    ana, bo = people
    chat = await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    ws, _, _ = await connect(bo)
    day_later = time.time() + 86_401
    monkeypatch.setattr(time, "time", lambda: day_later)
    await database_sync_to_async(services.send_message)(user=ana, conversation_id=chat.pk, body="still there?")
    assert "still there?" in (await next_of_type(ws, "message.created"))["html"]
    await ws.disconnect()


async def test_every_frame_type_is_rate_limited_per_user(people, settings):
    ana, _ = people
    settings.MESSAGE_RATE_LIMIT = "5/10s"
    ws, _, _ = await connect(ana)
    assert set(frame_types()) == set(protocol.FRAMES)  # every declared frame has a handler
    for name, frame_type in frame_types().items():
        limit, _ = parse_rate(frame_type.rate())
        for _ in range(limit):
            await ws.send_json_to({"type": name})  # refused for its missing fields (or answered), but counted
        await ws.send_json_to({"type": name, "conversation": 1})
        codes = []
        for _ in range(limit + 1):
            frame = await ws.receive_json_from(timeout=5)
            while frame["type"] not in ("error", "pong", "call.active"):
                frame = await ws.receive_json_from(timeout=5)
            codes.append(frame.get("code"))
        assert codes[-1] == "rate_limited", name
        assert "rate_limited" not in codes[:-1], name
    await ws.disconnect()


@pytest.mark.parametrize("origin", ["http://localhost:8001", "https://localhost", "http://localhost.evil.com",
                                    "null", ""])
async def test_a_socket_from_another_origin_is_refused(people, origin):
    ana, _ = people
    _, connected, _ = await connect(ana, origin=origin)
    assert not connected


async def test_the_sites_own_origin_with_its_port_is_accepted(people):
    ana, _ = people
    from channels.testing import WebsocketCommunicator

    cookie = await database_sync_to_async(session_cookie_for)(ana)
    ws = WebsocketCommunicator(application, "/ws/", headers=[
        (b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000"), (b"cookie", cookie.encode())])
    connected, _ = await ws.connect()
    assert connected
    await ws.disconnect()


async def test_one_person_cannot_open_unlimited_sockets(people, settings):
    ana, _ = people
    settings.SOCKET_MAX_PER_USER = 2
    tabs = [(await connect(ana))[0] for _ in range(2)]
    from channels.testing import WebsocketCommunicator

    cookie = await database_sync_to_async(session_cookie_for)(ana)
    extra = WebsocketCommunicator(application, "/ws/", headers=[
        (b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", cookie.encode())])
    await extra.connect()
    assert (await extra.receive_output(timeout=3)) == {"type": "websocket.close", "code": protocol.CLOSE_TOO_MANY}
    await tabs[0].disconnect()
    replacement, connected, _ = await connect(ana)  # a closed tab frees its place
    assert connected
    for tab in (tabs[1], replacement):
        await tab.disconnect()


@pytest.mark.parametrize("text", [
    "[" * 10_000 + "]" * 10_000,
    '{"type": "read", "conversation": NaN, "seq": 1}',
    '{"type": "read", "conversation": Infinity, "seq": 1}',
    '{"type": "read", "conversation": 1e400, "seq": 1}',
    '{"type": "read", "conversation": 1.0, "seq": 1}',
    '{"type": "read", "conversation": true, "seq": 1}',
    '{"type": "resume", "conversation": 99999999999999999999999, "after_seq": 0}',
    '{"type": "resume", "conversation": 1, "after_seq": -1}',
    '{"type": "message.send", "conversation": 1, "body": {"a": [1]}}',
    '{"type": "message.send", "conversation": 1, "body": "x", "client_id": "' + "c" * 65 + '"}',
    '{"type": "presence", "active": "yes"}',
    '{"type": ' + "1" * 5000 + '}',
    '"just a string"',
    '{"type": "ping"' + " " * 70_000 + "}",
])
async def test_a_hostile_frame_is_answered_with_a_code_and_the_socket_lives_on(people, text):
    ana, _ = people
    ws, _, _ = await connect(ana)
    await ws.send_to(text_data=text)
    error = await next_of_type(ws, "error")
    assert error["code"] in {"bad_frame", "frame_too_large", "not_member"}
    await ws.send_to(bytes_data=b"\x00\xff")
    assert (await next_of_type(ws, "error"))["code"] == "bad_frame"
    await ws.send_json_to({"type": "ping"})
    assert (await next_of_type(ws, "pong"))["type"] == "pong"
    await ws.disconnect()


async def test_a_frame_names_the_field_at_fault(people):
    ana, bo = people
    chat = await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    ws, _, _ = await connect(ana)
    await ws.send_json_to({"type": "message.send", "conversation": chat.pk, "body": "hi", "client_id": "k1",
                           "reply_to": "abc"})
    error = await next_of_type(ws, "error")
    assert (error["code"], error["field"], error["client_id"], error["conversation"]) == ("bad_frame", "reply_to", "k1", chat.pk)
    await ws.disconnect()


async def test_a_socket_that_dies_of_an_error_still_counts_its_person_offline(people, monkeypatch):
    ana, bo = people
    await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    ws, _, _ = await connect(ana)
    assert (await database_sync_to_async(presence.statuses)([ana.pk]))[ana.pk] == "online"

    async def broken(self, event):
        raise RuntimeError("a bug in event handling")

    monkeypatch.setattr(SocketConsumer, "on_event", broken)
    await database_sync_to_async(services.send_message)(user=bo, conversation_id=(
        await database_sync_to_async(services.get_or_create_direct_conversation)(user=bo, other_id=ana.pk)).pk, body="x")
    with pytest.raises(RuntimeError):
        await ws.wait(timeout=3)
    assert (await database_sync_to_async(presence.statuses)([ana.pk]))[ana.pk] == "offline"


async def test_signing_out_closes_the_sessions_sockets_with_the_sign_in_code(people):
    from accounts.services import end_live_sessions

    ana, _ = people
    ws, _, _ = await connect(ana)
    await database_sync_to_async(end_live_sessions)(user_id=ana.pk)
    output = await ws.receive_output(timeout=3)
    while output["type"] == "websocket.send":  # presence news sent before
        output = await ws.receive_output(timeout=3)
    assert output == {"type": "websocket.close", "code": protocol.CLOSE_SIGNED_OUT}


def test_the_protocol_publishes_a_json_schema_of_everything():
    schema = protocol.json_schema()
    assert set(schema["frames"]) == set(protocol.FRAMES)
    assert set(schema["events"]) == set(protocol.EVENTS)
    assert "for" in schema["replies"]["error"]["properties"]
    json.dumps(schema)
