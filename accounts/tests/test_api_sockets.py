"""The socket for apps and bots: signed in by a bearer token in the subprotocol or by a one-time
ticket, never by the cookie beside it; closed when the token is revoked or the JWT expires; the
JSON twins of events; bad frames answered and survived."""

import asyncio
import json
from datetime import timedelta
from importlib import import_module

import pytest
from allauth.headless.tokens.strategies.jwt.internal import create_token, session_key_to_sid
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import tokens
from chatsite import protocol
from chatsite.asgi import application
from conftest import make_user
from messaging import services
from messaging.models import Message
from messaging.tests.test_consumer import connect, next_of_type, session_cookie_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people(db):
    return make_user("ana"), make_user("bot", first_name="Robo")


async def api_socket(*, token=None, ticket=None, origin=None, cookie_of=None, subprotocols=None):
    """A socket as a bot opens it: no Origin unless given, no cookie unless given."""
    headers = [(b"host", b"localhost")]
    if origin:
        headers.append((b"origin", origin.encode()))
    if cookie_of is not None:
        headers.append((b"cookie", (await database_sync_to_async(session_cookie_for)(cookie_of)).encode()))
    if subprotocols is None:
        subprotocols = [protocol.SUBPROTOCOL] + ([f"bearer.{token}"] if token else [])
    path = f"/ws/?ticket={ticket}" if ticket else "/ws/"
    communicator = WebsocketCommunicator(application, path, headers=headers, subprotocols=subprotocols)
    connected, subprotocol = await communicator.connect()
    return communicator, connected, subprotocol


async def close_code(communicator, timeout=3) -> int:
    while True:
        output = await communicator.receive_output(timeout)
        if output["type"] == "websocket.close":
            return output["code"]


def new_token(user, **kwargs) -> tokens.NewToken:
    return tokens.create_api_token(user=user, name="bot", **kwargs)


async def test_a_bearer_token_in_the_subprotocol_signs_the_socket_in_and_is_not_echoed(people):
    _, bot = people
    secret = (await database_sync_to_async(new_token)(bot)).secret
    socket, connected, subprotocol = await api_socket(token=secret)
    assert connected and subprotocol == "chat.v1"  # never bearer.<token>
    hello = await socket.receive_json_from()
    assert hello == {"type": "hello", "user_id": bot.pk}
    await socket.disconnect()


async def test_a_bad_token_is_refused_with_an_error_frame_and_4401(people):
    socket, connected, subprotocol = await api_socket(token="chat_pat_not-a-real-one")
    assert connected and subprotocol == "chat.v1"  # accepted only to say why
    error = await socket.receive_json_from()
    assert error["type"] == "error" and error["code"] == "unauthorized"
    assert await close_code(socket) == protocol.CLOSE_SIGNED_OUT
    # A malformed JWT is refused the same way, not with a server error.
    socket, connected, _ = await api_socket(token="eyJhbGciOi.broken.jwt")
    assert (await socket.receive_json_from())["code"] == "unauthorized"
    assert await close_code(socket) == protocol.CLOSE_SIGNED_OUT


async def test_token_sockets_skip_the_origin_check_but_never_fall_back_to_the_cookie(people):
    """Another site's page can attach the visitor's cookie to a socket it opens, and add any
    subprotocol. With a bad bearer it must not get the visitor's session; with a token of its own
    it gets only what the token already grants, so its Origin does not matter."""
    ana, bot = people
    # A cookie socket from a foreign origin: refused (cross-site WebSocket hijacking).
    _, connected, _ = await connect(ana, origin="https://evil.example")
    assert not connected
    # The same, with a bogus bearer beside the cookie: refused, not signed in as Ana.
    socket, connected, _ = await api_socket(token="chat_pat_bogus", origin="https://evil.example", cookie_of=ana)
    assert (await socket.receive_json_from())["code"] == "unauthorized"
    assert await close_code(socket) == protocol.CLOSE_SIGNED_OUT
    # Or a bogus ticket (or an empty one) beside the cookie: refused too.
    for ticket in ("chat_tkt_bogus", "&"):  # "&": ?ticket= with no value
        socket, connected, _ = await api_socket(ticket=ticket, origin="https://evil.example", cookie_of=ana,
                                                subprotocols=[])
        assert (await socket.receive_json_from())["code"] == "ticket_invalid"
        assert await close_code(socket) == protocol.CLOSE_SIGNED_OUT
        # With the bot's own token, the socket is the bot's, whatever the Origin and the cookie.
    secret = (await database_sync_to_async(new_token)(bot)).secret
    socket, connected, _ = await api_socket(token=secret, origin="https://evil.example", cookie_of=ana)
    assert connected and (await socket.receive_json_from())["user_id"] == bot.pk
    await socket.disconnect()


async def test_a_ticket_opens_one_socket_once(people):
    _, bot = people
    secret = (await database_sync_to_async(new_token)(bot)).secret
    response = await database_sync_to_async(Client().post)("/api/v1/socket/ticket",
                                                           HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["expires_in"] == settings.SOCKET_TICKET_SECONDS and body["url"] == f"/ws/?ticket={body['ticket']}"
    assert secret not in body["url"]
    socket, connected, _ = await api_socket(ticket=body["ticket"], subprotocols=[])
    assert connected and (await socket.receive_json_from())["user_id"] == bot.pk
    # Used once: a second socket with it is refused.
    again, connected, _ = await api_socket(ticket=body["ticket"], subprotocols=[])
    error = await again.receive_json_from()
    assert error["code"] == "ticket_invalid"
    assert await close_code(again) == protocol.CLOSE_SIGNED_OUT
    await socket.disconnect()


async def test_a_ticket_expires_and_the_ticket_endpoint_needs_a_token(people, settings):
    _, bot = people
    settings.SOCKET_TICKET_SECONDS = 1
    ticket = await database_sync_to_async(tokens.issue_socket_ticket)(user=bot)
    await asyncio.sleep(1.5)
    socket, _, _ = await api_socket(ticket=ticket, subprotocols=[])
    assert (await socket.receive_json_from())["code"] == "ticket_invalid"
    assert await close_code(socket) == protocol.CLOSE_SIGNED_OUT
    anonymous = await database_sync_to_async(Client().post)("/api/v1/socket/ticket")
    assert anonymous.status_code == 401


async def test_revoking_the_token_closes_its_sockets_and_its_tickets_sockets(people):
    _, bot = people
    made = await database_sync_to_async(new_token)(bot)
    by_token, _, _ = await api_socket(token=made.secret)
    await by_token.receive_json_from()
    ticket = await database_sync_to_async(tokens.issue_socket_ticket)(user=bot, api_token=made.token)
    by_ticket, _, _ = await api_socket(ticket=ticket, subprotocols=[])
    await by_ticket.receive_json_from()
    await database_sync_to_async(tokens.revoke_api_token)(user=bot, token_id=made.token.pk)
    assert await close_code(by_token) == protocol.CLOSE_SIGNED_OUT
    assert await close_code(by_ticket) == protocol.CLOSE_SIGNED_OUT
    # And it opens none any more.
    again, _, _ = await api_socket(token=made.secret)
    assert (await again.receive_json_from())["code"] == "unauthorized"


def _jwt_for(user, expires_in: int) -> str:
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    store["_auth_user_hash"] = user.get_session_auth_hash()
    store.create()
    return create_token("access", sub=str(user.pk), sid=session_key_to_sid(store.session_key), expires_in=expires_in)[0]


async def test_a_jwt_socket_closes_when_the_access_token_expires(people):
    _, bot = people
    jwt = await database_sync_to_async(_jwt_for)(bot, 1)
    socket, connected, _ = await api_socket(token=jwt)
    assert connected and (await socket.receive_json_from())["user_id"] == bot.pk
    assert await close_code(socket, timeout=5) == protocol.CLOSE_SIGNED_OUT


async def test_a_token_with_an_expiry_closes_its_socket_then(people):
    _, bot = people
    made = await database_sync_to_async(new_token)(bot, expires_in_days=1)
    # A socket opened when the token has a second left closes when it runs out.
    await database_sync_to_async(ApiToken.objects.filter(pk=made.token.pk).update)(
        expires_at=timezone.now() + timedelta(seconds=1))
    short, _, _ = await api_socket(token=made.secret)
    await short.receive_json_from()
    assert await close_code(short, timeout=5) == protocol.CLOSE_SIGNED_OUT


async def test_api_sockets_get_json_twins_and_browsers_the_html(people):
    ana, bot = people
    chat = await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bot.pk)
    secret = (await database_sync_to_async(new_token)(bot)).secret
    robot, _, _ = await api_socket(token=secret)
    await robot.receive_json_from()
    browser, _, _ = await connect(ana)
    await browser.send_json_to({"type": "message.send", "conversation": chat.pk, "body": "hi **bot**",
                                "client_id": "c-1"})
    twin = await next_of_type(robot, "message.created")
    message = twin["message"]
    assert twin["conversation"] == chat.pk and "html" not in twin
    assert message["body"] == "hi **bot**" and message["html"] == "<p>hi <strong>bot</strong></p>"
    assert message["sender"] == {"id": ana.pk, "username": "ana", "display_name": ana.display_name, "avatar_url": None}
    assert message["seq"] == 1 and message["kind"] == "text" and message["attachments"] == []
    assert message["client_id"] == "c-1" and message["deleted"] is False and message["edited_at"] is None
    html = await next_of_type(browser, "message.created")
    assert "<li" in html["html"] and "message" not in html
    # An edit: the twin carries the message as it is now.
    await database_sync_to_async(services.edit_message)(user=ana, message_id=message["id"], body="hello bot")
    updated = await next_of_type(robot, "message.updated")
    assert updated["message"]["body"] == "hello bot" and updated["message"]["edited_at"]
    # The bot answers over the same socket, and resumes with messages as objects.
    await robot.send_json_to({"type": "message.send", "conversation": chat.pk, "body": "beep", "client_id": "b-1"})
    ack = await next_of_type(robot, "message.ack")
    assert ack["seq"] == 2
    await robot.send_json_to({"type": "resume", "conversation": chat.pk, "after_seq": 0})
    history = await next_of_type(robot, "history")
    assert [(m["seq"], m["body"], m["client_id"]) for m in history["messages"]] == [(1, "hello bot", ""),
                                                                                   (2, "beep", "b-1")]
    await robot.disconnect()
    await browser.disconnect()


async def test_bad_frames_get_error_frames_and_the_socket_stays(people):
    _, bot = people
    secret = (await database_sync_to_async(new_token)(bot)).secret
    robot, _, _ = await api_socket(token=secret)
    await robot.receive_json_from()
    for text, code in (("not json", "bad_frame"), ('{"type": "nope"}', "unknown_frame"),
                       ('{"type": "message.send", "conversation": "x", "body": ""}', "bad_frame"),
                       (json.dumps({"type": "resume", "conversation": 999999, "after_seq": 0}), "not_member")):
        await robot.send_to(text_data=text)
        error = await next_of_type(robot, "error")
        assert error["code"] == code, text
    await robot.send_json_to({"type": "ping"})
    assert (await next_of_type(robot, "pong"))["type"] == "pong"
    await robot.disconnect()


def test_no_ticket_value_is_stored_in_the_clear(people):
    from django.core.cache import cache

    _, bot = people
    ticket = tokens.issue_socket_ticket(user=bot)
    assert cache.get(f"socket-ticket:{tokens.hash_token(ticket)}")["user_id"] == bot.pk
    assert cache.get(f"socket-ticket:{ticket}") is None


async def test_a_ticket_asked_with_a_jwt_lasts_no_longer_than_the_jwt(people):
    _, bot = people
    jwt = await database_sync_to_async(_jwt_for)(bot, 2)
    response = await database_sync_to_async(Client().post)("/api/v1/socket/ticket", HTTP_AUTHORIZATION=f"Bearer {jwt}")
    assert response.status_code == 201
    socket, connected, _ = await api_socket(ticket=response.json()["ticket"], subprotocols=[])
    assert connected and (await socket.receive_json_from())["user_id"] == bot.pk
    assert await close_code(socket, timeout=6) == protocol.CLOSE_SIGNED_OUT


async def test_a_read_only_token_socket_reads_but_cannot_write(people):
    ana, bot = people
    chat = await database_sync_to_async(services.get_or_create_direct_conversation)(user=ana, other_id=bot.pk)
    await database_sync_to_async(services.send_message)(user=ana, conversation_id=chat.pk, body="hello reader")
    reader = (await database_sync_to_async(new_token)(bot, scope="read")).secret
    # By subprotocol, and by a ticket (which a read-only token may ask for: it changes nothing).
    ticket = await database_sync_to_async(Client().post)("/api/v1/socket/ticket", HTTP_AUTHORIZATION=f"Bearer {reader}")
    assert ticket.status_code == 201
    for socket in ((await api_socket(token=reader))[0], (await api_socket(ticket=ticket.json()["ticket"],
                                                                          subprotocols=[]))[0]):
        await socket.receive_json_from()
        await socket.send_json_to({"type": "resume", "conversation": chat.pk, "after_seq": 0})
        assert [m["body"] for m in (await next_of_type(socket, "history"))["messages"]] == ["hello reader"]
        for frame in ({"type": "message.send", "conversation": chat.pk, "body": "sneaky", "client_id": "x"},
                      {"type": "typing", "conversation": chat.pk}, {"type": "read", "conversation": chat.pk, "seq": 1}):
            await socket.send_json_to(frame)
            error = await next_of_type(socket, "error")
            assert error["code"] == "read_only_token" and error["for"] == frame["type"]
        await socket.send_json_to({"type": "ping"})
        await next_of_type(socket, "pong")
        await socket.disconnect()
    assert not await database_sync_to_async(Message.objects.filter(body="sneaky").exists)()
