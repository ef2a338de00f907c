"""Logs an operator can follow: a request id on every line, the same id in the response header
and in a socket's error frame; JSON lines when asked."""

import json
import logging

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from chatsite.asgi import application
from chatsite.logs import RequestIdFilter, json_formatter
from chatsite.request_id import request_id
from conftest import make_user


def record(message: str) -> logging.LogRecord:
    item = logging.LogRecord("chatsite.test", logging.ERROR, __file__, 1, message, None, None)
    RequestIdFilter().filter(item)
    return item


def test_a_json_line_carries_the_request_id_of_what_was_being_served():
    token = request_id.set("req-42")
    try:
        line = json_formatter().format(record("the provider refused"))
    finally:
        request_id.reset(token)

    data = json.loads(line)
    assert data["request_id"] == "req-42"
    assert (data["level"], data["logger"], data["message"]) == ("ERROR", "chatsite.test", "the provider refused")
    assert "time" in data


def test_outside_a_request_the_id_is_a_dash():
    assert json.loads(json_formatter().format(record("at start")))["request_id"] == "-"


@pytest.mark.django_db
def test_the_response_header_gives_the_id_the_logs_use(client):
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="from-the-proxy-7")

    assert response["X-Request-ID"] == "from-the-proxy-7"
    fresh = client.get("/no-such-page/")["X-Request-ID"]
    assert len(fresh) == 32 and fresh != "from-the-proxy-7"


@pytest.mark.django_db(transaction=True)
async def test_each_socket_frame_has_its_own_request_id_in_its_error_frame():
    ana = await database_sync_to_async(make_user)("ana")
    browser = Client()
    await database_sync_to_async(browser.force_login)(ana)
    from django.conf import settings

    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    socket = WebsocketCommunicator(application, "/ws/", headers=[
        (b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", cookie.encode())])
    assert (await socket.connect())[0]
    await socket.receive_json_from()  # hello

    async def answer():
        while (reply := await socket.receive_json_from())["type"] != "error":
            pass  # presence news
        return reply

    await socket.send_json_to({"type": "no.such.frame"})
    first = await answer()
    await socket.send_json_to({"type": "no.such.frame"})
    second = await answer()

    assert first["type"] == "error" and first["code"] == "unknown_frame"
    prefix, number = first["request_id"].split(".")
    assert second["request_id"] == f"{prefix}.{int(number) + 1}"  # one id per frame
    await socket.disconnect()
