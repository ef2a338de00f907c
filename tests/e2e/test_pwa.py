"""The installable web app in Chromium (issue 17): the manifest parses without errors, the service
worker is registered for the whole site, a push delivered to it shows the notification whose click
opens the chat, a "close" push takes it away, and with the network gone the offline page stands in.

Headless Chromium has no notification UI to click: the test calls the worker's own click handler
(``openFromNotification``, what its notificationclick listener runs) on the notification it shows.
The push itself is delivered the way a push service's would be, through Chromium's DevTools protocol
(ServiceWorker.deliverPushMessage), so the worker's push listener runs as for a real push.
"""

import json

import pytest
from playwright.sync_api import expect

from conftest import make_user
from messaging import services

from .chat_helpers import sign_in

pytestmark = pytest.mark.e2e


def _registration_id(cdp) -> str:
    found = {}

    def updated(params):
        for registration in params["registrations"]:
            if not registration.get("isDeleted"):
                found["id"] = registration["registrationId"]

    cdp.on("ServiceWorker.workerRegistrationUpdated", updated)
    cdp.send("ServiceWorker.enable")
    return found


def _notifications(page) -> list[dict]:
    return page.evaluate("""async () => {
        const registration = await navigator.serviceWorker.ready;
        return (await registration.getNotifications()).map(
            (n) => ({title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url}));
    }""")


def _wait_for_notifications(page, wanted) -> None:
    """Polls until ``wanted(count)``: a predicate that returns a promise is truthy at once, so
    page.wait_for_function cannot wait on the worker's asynchronous list."""
    for _ in range(200):
        if wanted(len(_notifications(page))):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"the notifications never reached the count wanted: {_notifications(page)}")


def test_installable_push_shows_the_chat_a_click_opens_it_and_offline_has_a_page(new_page, live_url, off_loop, shoot):
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    chat = off_loop(services.get_or_create_direct_conversation, user=bo, other_id=ana.pk)
    page = new_page(network_cuts=True)
    page.context.grant_permissions(["notifications"], origin=live_url)
    sign_in(page, "ana")

    scope = page.evaluate("navigator.serviceWorker.ready.then((registration) => registration.scope)")
    assert scope == live_url + "/"
    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [], manifest["errors"]
    parsed = json.loads(manifest["data"])
    assert parsed["display"] == "standalone" and parsed["name"]

    registration = _registration_id(cdp)
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    assert registration.get("id"), "Chromium reported no service worker registration"
    payload = {"type": "show", "title": "Bo Berg", "body": "Are you coming tonight?", "tag": f"chat-{chat.pk}",
               "url": f"/c/{chat.pk}/", "timestamp": 1_700_000_000_000}
    cdp.send("ServiceWorker.deliverPushMessage",
             {"origin": live_url, "registrationId": registration["id"], "data": json.dumps(payload)})
    _wait_for_notifications(page, lambda count: count > 0)
    assert _notifications(page) == [{"title": "Bo Berg", "body": "Are you coming tonight?", "tag": f"chat-{chat.pk}",
                                     "url": f"/c/{chat.pk}/"}]

    # The click: the worker takes this tab to the chat.
    worker = page.context.service_workers[0]
    worker.evaluate("""async (tag) => {
        const [shown] = await self.registration.getNotifications({tag});
        await openFromNotification(shown);
    }""", f"chat-{chat.pk}")
    page.wait_for_url(f"**/c/{chat.pk}/")
    expect(page.get_by_role("heading", level=1, name="Bo Berg")).to_be_visible()
    assert _notifications(page) == []  # a click closes it

    # Read on another device: a silent "close" push takes the chat's notification away.
    cdp.send("ServiceWorker.deliverPushMessage",
             {"origin": live_url, "registrationId": registration["id"], "data": json.dumps(payload)})
    _wait_for_notifications(page, lambda count: count > 0)
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": live_url, "registrationId": registration["id"],
                                                  "data": json.dumps({"type": "close", "tag": f"chat-{chat.pk}"})})
    _wait_for_notifications(page, lambda count: count == 0)

    # No network: the offline page, from the worker's cache, with its styles.
    page.context.set_offline(True)
    page.goto("/")
    expect(page.get_by_role("heading", level=1, name="is unreachable")).to_be_visible()
    expect(page.get_by_role("link", name="Try again")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('.offline-page')).textAlign") == "center"
    shoot(page, "offline")
    page.context.set_offline(False)
