"""Friends, the bell and presence between two browsers."""

import re

import pytest
from playwright.sync_api import expect

from conftest import make_user

from .chat_helpers import sign_in

pytestmark = pytest.mark.e2e


def test_friend_request_bell_and_presence(new_page, shoot):
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    a, b = new_page(), new_page()
    sign_in(a, "ana")
    sign_in(b, "bo")
    b.wait_for_selector("body[data-socket=open]", state="attached")
    expect(b.get_by_role("link", name="Notifications, 0 unread")).to_be_visible()

    # Ana finds Bo and asks to be friends.
    a.goto(f"/people/{bo.pk}/")
    a.get_by_label("Note").fill("Hi Bo, it's Ana from the book club")
    a.get_by_role("button", name="Add friend").click()
    expect(a.get_by_text("Friend request sent.").first).to_be_visible()

    # Bo's bell counts it at once; the request waits on the People page.
    expect(b.get_by_role("link", name="Notifications, 1 unread")).to_be_visible()
    b.get_by_role("link", name="Notifications, 1 unread").click()
    expect(b.get_by_role("link", name=re.compile("Ana Lima wants to be your friend"))).to_be_visible()
    shoot(b, "notifications")
    b.goto("/people/?tab=received")
    expect(b.get_by_text("“Hi Bo, it's Ana from the book club”")).to_be_visible()
    b.get_by_role("button", name="Accept Ana Lima's friend request").click()
    expect(b.get_by_text("You are now friends.")).to_be_visible()
    expect(b.get_by_role("link", name="Notifications, 0 unread")).to_be_visible()
    shoot(b, "people")

    # Friends see each other online.
    a.goto(f"/people/{bo.pk}/")
    expect(a.get_by_text("Friends", exact=True)).to_be_visible()
    expect(a.locator(f'[data-presence-text="{bo.pk}"]')).to_have_text("online")
    b.goto(f"/people/{ana.pk}/")
    expect(b.locator(f'[data-presence-text="{ana.pk}"]')).to_have_text("online")

    # Bo closes his tab: Ana sees him go offline within ten seconds.
    b.close()
    expect(a.locator(f'[data-presence-text="{bo.pk}"]')).to_have_text(re.compile(r"^last seen today"), timeout=10_000)
    expect(a.locator(f'[data-presence-user="{bo.pk}"]')).to_have_attribute("data-status", "offline")
