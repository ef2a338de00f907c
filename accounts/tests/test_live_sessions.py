"""Signing out, or deleting the account, closes the WebSockets it had open at once."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.urls import reverse

from chatsite.asgi import application
from conftest import PASSWORD, make_user
from messaging.tests.test_consumer import nothing_more

pytestmark = pytest.mark.django_db(transaction=True)


async def open_socket(client: Client) -> WebsocketCommunicator:
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    communicator = WebsocketCommunicator(application, "/ws/", headers=[
        (b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", cookie.encode())])
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"
    return communicator


async def next_output(communicator):
    """The next thing the server does to the socket, presence news skipped."""
    while True:
        output = await communicator.receive_output(timeout=2)
        if output["type"] != "websocket.send" or '"presence.changed"' not in output.get("text", ""):
            return output


async def test_sign_out_closes_that_sessions_socket_only():
    ana = await database_sync_to_async(make_user)("ana")
    laptop, phone = Client(), Client()
    await database_sync_to_async(laptop.force_login)(ana)
    await database_sync_to_async(phone.force_login)(ana)
    laptop_ws, phone_ws = await open_socket(laptop), await open_socket(phone)
    await database_sync_to_async(laptop.post)(reverse("account_logout"))
    closed = await next_output(laptop_ws)
    assert closed == {"type": "websocket.close", "code": 4401}
    assert await nothing_more(phone_ws)  # the phone stays signed in
    await phone_ws.disconnect()


async def test_deleting_the_account_closes_every_socket():
    ana = await database_sync_to_async(make_user)("ana")
    laptop, phone = Client(), Client()
    await database_sync_to_async(laptop.force_login)(ana)
    await database_sync_to_async(phone.force_login)(ana)
    phone_ws = await open_socket(phone)
    response = await database_sync_to_async(laptop.post)(reverse("account_delete"), {"password": PASSWORD, "confirm": "ana"})
    assert response.status_code == 302
    closed = await next_output(phone_ws)
    assert closed["type"] == "websocket.close" and closed["code"] == 4401


async def test_password_change_makes_other_sessions_sign_in_again():
    ana = await database_sync_to_async(make_user)("ana")
    laptop, stolen = Client(), Client()
    await database_sync_to_async(laptop.force_login)(ana)
    await database_sync_to_async(stolen.force_login)(ana)
    stolen_ws = await open_socket(stolen)
    response = await database_sync_to_async(laptop.post)(
        reverse("account_change_password"), {"oldpassword": PASSWORD, "password1": "a brand new secret 77",
                                             "password2": "a brand new secret 77"})
    assert response.status_code == 302
    closed = await next_output(stolen_ws)
    assert closed == {"type": "websocket.close", "code": 4000}  # reconnect, and be checked again
    cookie = f"{settings.SESSION_COOKIE_NAME}={stolen.cookies[settings.SESSION_COOKIE_NAME].value}"
    again = WebsocketCommunicator(application, "/ws/", headers=[
        (b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", cookie.encode())])
    connected, code = await again.connect()
    assert not connected and code == 4401  # the old session no longer signs anyone in
    assert (await open_socket(laptop)) is not None  # the session that changed the password stays in


async def test_deactivated_account_loses_its_sockets():
    ana = await database_sync_to_async(make_user)("ana")
    client = Client()
    await database_sync_to_async(client.force_login)(ana)
    ws = await open_socket(client)
    ana.is_active = False
    await database_sync_to_async(ana.save)()
    closed = await next_output(ws)
    assert closed["type"] == "websocket.close" and closed["code"] == 4401


async def test_an_admin_deactivating_a_person_closes_their_socket_and_session():
    ana = await database_sync_to_async(make_user)("ana")
    boss = await database_sync_to_async(make_user)("boss", is_staff=True, is_superuser=True)
    phone, admin_browser = Client(), Client()
    await database_sync_to_async(phone.force_login)(ana)
    await database_sync_to_async(admin_browser.force_login)(boss)
    phone_ws = await open_socket(phone)

    response = await database_sync_to_async(admin_browser.post)(
        reverse("admin:accounts_user_changelist"), {"action": "deactivate", "_selected_action": [ana.pk]})

    assert response.status_code == 302
    closed = await next_output(phone_ws)  # within its 2 s timeout
    assert closed == {"type": "websocket.close", "code": 4401}
    # The session no longer signs anyone in: the page sends the phone to sign-in.
    page = await database_sync_to_async(phone.get)("/")
    assert page.status_code == 302 and reverse("account_login") in page["Location"]
