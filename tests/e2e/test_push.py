"""The installable app and Web Push in Chromium: the manifest and the service worker are valid and
registered, the settings switch stores the subscription the page hands it, a tab that is visible
silences its device, and a push shows a notification whose click opens the chat.

Headless Chromium reaches no push service here, so an init script gives the page's PushManager a
subscription whose endpoint is the local push service of accounts/tests/push_service.py (which
checks the VAPID signature and decrypts what the site sends, as a real one and the browser would);
what it receives is then delivered to the service worker as a real push message (CDP)."""

import json
import re

import pytest
from playwright.sync_api import expect

from accounts.models import PushSubscription
from accounts.tests.push_service import PushService
from conftest import make_user

from .a11y import assert_accessible
from .chat_helpers import sign_in

pytestmark = pytest.mark.e2e

FAKE_PUSH_MANAGER = """
(() => {
  if (typeof PushManager === "undefined") return;
  const json = %s;
  const subscribed = "e2e-push-subscribed";
  const subscription = {
    endpoint: json.endpoint, expirationTime: null, options: { userVisibleOnly: true },
    toJSON: () => json,
    unsubscribe: async () => { localStorage.removeItem(subscribed); return true; },
  };
  PushManager.prototype.subscribe = async function (options) {
    if (!options || !options.userVisibleOnly || !options.applicationServerKey) throw new Error("bad options");
    localStorage.setItem(subscribed, "1");
    return subscription;
  };
  PushManager.prototype.getSubscription = async function () {
    return localStorage.getItem(subscribed) ? subscription : null;
  };
})();
"""


@pytest.fixture
def service(settings):
    from accounts import push

    service = PushService(subject=settings.VAPID_SUBJECT, server_key=push.application_server_key()).start()
    yield service
    service.stop()
    assert not service.refused, service.refused


def _eventually(page, check, tries=100):
    """Polls ``check`` until it is true, letting the browser's events in between."""
    for _ in range(tries):
        if value := check():
            return value
        page.wait_for_timeout(50)
    raise AssertionError(f"never true: {check}")


def _worker(context):
    return context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")


def test_install_subscribe_and_a_push_opens_the_chat(new_page, live_url, service, off_loop, shoot):
    from messaging import services

    bo = make_user("bo", first_name="Bo", last_name="Berg")
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    chat = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=bo.pk)
    phone = service.device("phone")

    page = new_page()
    page.context.grant_permissions(["notifications"], origin=live_url)
    page.context.add_init_script(FAKE_PUSH_MANAGER % json.dumps(phone.subscription))
    sign_in(page, "bo")

    # Installable: a manifest Chromium parses without errors, and a worker in control of "/".
    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"] == f"{live_url}/manifest.webmanifest" and manifest["errors"] == []
    assert json.loads(manifest["data"])["display"] == "standalone"
    scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == f"{live_url}/"

    # The switch subscribes this device and the server stores what the page handed it.
    page.get_by_text("Bo Berg").first.click()
    page.get_by_role("link", name="Privacy and notifications").click()
    switch = page.get_by_role("switch", name="Notifications on this device")
    expect(switch).to_be_enabled()
    expect(switch).not_to_be_checked()
    shoot(page, "push-settings-off")
    switch.check()
    expect(page.get_by_role("status").filter(has_text="On: this device")).to_be_visible()
    stored = off_loop(lambda: list(PushSubscription.objects.values("user__username", "endpoint", "p256dh", "auth")))
    assert stored == [{"user__username": "bo", "endpoint": phone.endpoint, **phone.subscription["keys"]}]
    page.reload()
    expect(page.get_by_role("switch", name="Notifications on this device")).to_be_checked()
    page.wait_for_selector("body[data-socket=open]", state="attached")
    shoot(page, "push-settings-on")

    # A visible tab silences its own device...
    def ana_sends(text):
        return services.send_message(user=ana, conversation_id=chat.pk, body=text).message.seq

    from accounts import push

    subscription = off_loop(PushSubscription.objects.get)
    _eventually(page, lambda: push._visible_devices([subscription]))  # the tab's push.device frame arrived
    off_loop(ana_sends, "seen on screen already")
    assert service.messages("phone") == []
    # ... and once the tab is hidden the device is pushed, with the sender and the text.
    page.evaluate("""() => {
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
      document.dispatchEvent(new Event("visibilitychange"));
    }""")
    _eventually(page, lambda: not push._visible_devices([subscription]))
    off_loop(ana_sends, "Dinner at eight?")
    [pushed] = service.messages("phone")
    assert pushed == {"type": "show", "kind": "message", "title": "Ana Lima", "body": "Dinner at eight?",
                      "url": f"/c/{chat.pk}/", "tag": f"chat-{chat.pk}"}

    # The push reaches the service worker as a real push message and shows a notification.
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    registration = _eventually(page, lambda: next((r for r in registrations if r["scopeURL"] == f"{live_url}/"), None))
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": live_url, "registrationId": registration["registrationId"],
                                                   "data": json.dumps(pushed)})
    worker = _worker(page.context)
    shown = "self.registration.getNotifications().then((all) => all.map((n) => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url})))"
    notifications = _eventually(page, lambda: worker.evaluate(shown))
    assert notifications == [{"title": "Ana Lima", "body": "Dinner at eight?", "tag": f"chat-{chat.pk}",
                              "url": f"/c/{chat.pk}/"}]

    # A click on it opens the chat in the open window.
    # (Headless Chromium has no notification to click: run what the worker's click listener runs.)
    worker.evaluate("self.registration.getNotifications().then(([n]) => openFromNotification(n))")
    expect(page).to_have_url(re.compile(rf"/c/{chat.pk}/$"))
    assert worker.evaluate(shown) == []  # the click closed it

    # A silent update (the chat read on another device) closes that chat's notifications.
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": live_url, "registrationId": registration["registrationId"],
                                                   "data": json.dumps(pushed)})
    _eventually(page, lambda: worker.evaluate(shown))
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": live_url, "registrationId": registration["registrationId"],
                                                   "data": json.dumps({"type": "close", "tag": f"chat-{chat.pk}"})})
    _eventually(page, lambda: worker.evaluate(shown) == [])

    # Signing out turns this device's notifications off: the next person here hears nothing of Bo's.
    page.get_by_text("Bo Berg").first.click()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    assert off_loop(PushSubscription.objects.count) == 0


def test_the_switch_looks_right_in_dark_and_on_a_phone(new_page, live_url, service, shoot):
    make_user("cy", first_name="Cy", last_name="Park")
    page = new_page(color_scheme="dark")
    page.context.add_init_script(FAKE_PUSH_MANAGER % json.dumps(service.device("cy-phone").subscription))
    sign_in(page, "cy")
    page.goto("/settings/privacy/")
    expect(page.get_by_role("switch", name="Notifications on this device")).to_be_enabled()
    assert_accessible(page)
    shoot(page, "push-settings")
