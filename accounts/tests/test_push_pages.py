"""The push switch's endpoints, the settings page's push settings, the admin's devices and the
tab's push.device frame (the installable app's own files: chatsite/tests/test_pwa.py)."""


import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import reverse

from accounts import push
from accounts.models import PushSubscription, User
from conftest import make_user
from messaging.tests.test_consumer import connect, nothing_more

from .push_service import PushService

pytestmark = pytest.mark.django_db


@pytest.fixture
def service():
    service = PushService().start()
    yield service
    service.stop()


def _subscription(service, name="phone"):
    return service.device(name).subscription


def test_the_switch_stores_this_devices_subscription_and_removes_it(alice_client, alice, service):
    subscription = _subscription(service)
    response = alice_client.post(reverse("push_subscription_add"), subscription, content_type="application/json",
                                 headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
                                          "accept": "application/json"})
    assert response.status_code == 201
    stored = PushSubscription.objects.get()
    assert (stored.user, stored.endpoint, stored.p256dh, stored.auth, stored.user_agent) == (
        alice, subscription["endpoint"], subscription["keys"]["p256dh"], subscription["keys"]["auth"], "Firefox on Linux")
    assert "Firefox on Linux" in alice_client.get(reverse("settings")).content.decode()
    response = alice_client.post(reverse("push_subscription_remove"), {"endpoint": subscription["endpoint"]},
                                 content_type="application/json", headers={"accept": "application/json"})
    assert response.json() == {"ok": True} and not PushSubscription.objects.exists()


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"endpoint": "https://push.example.com/1"}',
                                  b'{"endpoint": 5, "keys": "x"}'])
def test_a_bad_subscription_gets_a_clear_error_and_stores_nothing(alice_client, body):
    response = alice_client.post(reverse("push_subscription_add"), body, content_type="application/json",
                                 headers={"accept": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["message"]
    assert not PushSubscription.objects.exists()


def test_the_switch_endpoints_need_a_signed_in_post(alice_client):
    assert alice_client.get(reverse("push_subscription_add")).status_code == 405
    response = Client().post(reverse("push_subscription_add"), {}, content_type="application/json")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_settings_page_has_the_switch_and_saves_quiet_hours_and_previews(alice_client, alice):
    page = alice_client.get(reverse("settings")).content.decode()
    assert 'role="switch" id="push-switch"' in page and "Notifications on this device" in page
    assert f'data-server-key="{push.application_server_key()}"' in page
    form = {"direct_messages_from": "everyone", "email_digest": "on", "push_private_previews": "on",
            "quiet_hours_start": "22:00", "quiet_hours_end": "07:30", "time_zone": "Europe/Lisbon"}
    assert alice_client.post(reverse("settings"), form).status_code == 302
    alice.refresh_from_db()
    assert alice.push_private_previews and str(alice.quiet_hours_start) == "22:00:00"
    assert str(alice.quiet_hours_end) == "07:30:00" and alice.time_zone == "Europe/Lisbon"


@pytest.mark.parametrize("change", [{"quiet_hours_end": ""}, {"time_zone": "Mars/Olympus"}, {"quiet_hours_start": "25:00"}])
def test_bad_quiet_hours_change_nothing(alice_client, alice, change):
    form = {"direct_messages_from": "everyone", "quiet_hours_start": "22:00", "quiet_hours_end": "07:00",
            "time_zone": "UTC", **change}
    response = alice_client.post(reverse("settings"), form)
    assert response.status_code == 400
    alice.refresh_from_db()
    assert alice.quiet_hours_start is None and alice.time_zone == ""


def test_an_operator_sees_and_deletes_devices_in_the_admin(client, alice, service):
    push.subscribe(user=alice, endpoint=service.device("phone").endpoint, **_subscription(service, "x")["keys"],
                   user_agent="Chrome on Android")
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:accounts_pushsubscription_changelist")).content.decode()
    assert "Chrome on Android" in page and "127.0.0.1" in page
    subscription = PushSubscription.objects.get()
    response = client.post(reverse("admin:accounts_pushsubscription_delete", args=[subscription.pk]), {"post": "yes"})
    assert response.status_code == 302 and not PushSubscription.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_a_tab_tells_the_server_its_device_is_visible_over_the_socket(service):
    bob = await database_sync_to_async(make_user)("bob")
    phone = service.device("phone")
    await database_sync_to_async(push.subscribe)(user=bob, endpoint=phone.endpoint, **phone.subscription["keys"])
    ws, connected, _code = await connect(bob)
    assert connected
    subscription = await database_sync_to_async(PushSubscription.objects.get)()
    await ws.send_json_to({"type": "push.device", "endpoint": phone.endpoint, "visible": True})
    assert await nothing_more(ws)  # no reply: the frame only records
    assert await database_sync_to_async(push._visible_devices)([subscription]) == {subscription.pk}
    await ws.send_json_to({"type": "push.device", "endpoint": phone.endpoint, "visible": False})
    assert await nothing_more(ws)
    assert await database_sync_to_async(push._visible_devices)([subscription]) == set()
    await ws.send_json_to({"type": "push.device", "endpoint": "", "visible": True})
    error = await ws.receive_json_from()
    assert error["type"] == "error" and error["for"] == "push.device"
    await ws.disconnect()
    assert await database_sync_to_async(User.objects.count)() == 1
