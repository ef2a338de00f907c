"""A tab that loses its network catches up by itself: a real cut on the wire (tests/e2e/relay.py
between Bo's page and the server), not Playwright's set_offline, repeated until a race would show."""

import os
import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from conftest import make_user
from messaging import services

from .chat_helpers import message_item, message_log, open_chat, send, sign_in
from .relay import TcpRelay

pytestmark = pytest.mark.e2e

ROUNDS = int(os.environ.get("E2E_RECONNECT_ROUNDS", 20))
# Long enough for the tab to retry into the cut at least once; short enough for twenty rounds.
CUT_SECONDS = float(os.environ.get("E2E_RECONNECT_CUT_SECONDS", 1.5))
# How the network goes and comes back, round after round:
# - "refuse": connections reset, new ones refused; the tab's retries fail until the port is back;
# - "blackhole": connections reset, new ones hang, then go through late ("forward") or are reset;
# - "online": as "refuse", and the browser says the network is back (the "online" event);
# - "freeze": the socket's path dies silently (no reset: nothing tells the tab) while the laptop
#   sleeps; only the tab's own heartbeat can notice, when it wakes.
ROUND_KINDS = (
    ("refuse", "forward"), ("blackhole", "forward"), ("blackhole", "reset"), ("online", "forward"), ("freeze", None),
)


@pytest.fixture
def relay(_asgi_server):
    relay = TcpRelay(urlsplit(_asgi_server).port)
    yield relay
    relay.close()


def shown_bodies(page) -> list[str]:
    return [text.strip() for text in page.locator("#messages > li.msg .msg-body").all_inner_texts()]


def wait_for_one_socket(page, relay) -> None:
    """Eventually exactly one live WebSocket crosses the relay for the tab (no second one beside it)."""
    for _ in range(100):
        if relay.live_websockets() == 1:
            break
        page.wait_for_timeout(50)
    page.wait_for_timeout(300)  # a second socket opened late would show now
    assert relay.live_websockets() == 1, f"{relay.live_websockets()} live sockets for one tab"


@pytest.mark.timeout(300)
def test_every_message_sent_during_a_cut_shows_once_in_order_without_a_reload(new_page, off_loop, relay, settings):
    settings.MESSAGE_RATE_LIMIT = "1000/m"  # a hundred messages in a minute or so, from one person
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    chat = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=bo.pk)
    a = new_page()
    b = new_page(base_url=relay.url, network_cuts=True)
    b.clock.install()  # runs in real time; fast_forward() is the laptop lid closed for that long
    sign_in(a, "ana")
    sign_in(b, "bo")
    open_chat(a, chat.pk)
    open_chat(b, chat.pk)
    b.evaluate("window.sameDocument = true")  # gone if the page reloads
    banner = b.locator("#connection-status")
    expected = []

    for round_ in range(ROUNDS):
        kind, release = ROUND_KINDS[round_ % len(ROUND_KINDS)]
        where = f"round {round_} ({kind}, then {release})"
        if kind == "freeze":
            relay.freeze()
        else:
            relay.cut("blackhole" if kind == "blackhole" else "refuse")
            expect(banner).to_have_text("Connection lost. Reconnecting…")
        cut_at = time.monotonic()
        for n in range(1, 6):
            expected.append(f"round {round_} message {n}")
            send(a, expected[-1])
        expect(message_item(a, expected[-1]).get_by_text("Sent", exact=True)).to_be_visible()
        if kind == "freeze":
            expect(message_log(b).get_by_text(expected[-1], exact=True)).to_have_count(0)
            b.clock.fast_forward("01:00")  # asleep for a minute: what was due fires once on waking
            b.clock.fast_forward("01:00")  # and what that scheduled
        else:
            b.wait_for_timeout(max(0.0, CUT_SECONDS - (time.monotonic() - cut_at)) * 1000)
            relay.restore(release_held=release)
            if kind == "online":
                b.evaluate("window.dispatchEvent(new Event('online'))")

        expect(message_log(b).get_by_text(expected[-1], exact=True)).to_be_visible(timeout=15_000)
        expect(banner).to_be_hidden()
        assert shown_bodies(b) == expected, where
        wait_for_one_socket(b, relay)

    assert b.evaluate("window.sameDocument") is True
    expect(message_item(a, expected[-1]).get_by_text("Seen", exact=True)).to_be_visible()
