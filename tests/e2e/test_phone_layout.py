"""On a phone the home page is the chat list, and a chat opens full screen with a back link (issue #18).

On a desktop nothing changes: the list beside the welcome, no back link.
"""

import re

import pytest
from playwright.sync_api import expect

from conftest import make_user
from messaging import services

from .a11y import assert_accessible
from .chat_helpers import sign_in
from .conftest import DESKTOP

pytestmark = pytest.mark.e2e

PHONE_390 = {"width": 390, "height": 844}
WIDTHS = (("desktop", DESKTOP), ("390", PHONE_390))


def _ana_with_a_chat(off_loop):
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    chat = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=bo.pk)
    off_loop(services.send_message, user=bo, conversation_id=chat.pk, body="Are you coming tonight?")
    return chat


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [PHONE_390, {"width": 360, "height": 740}], ids=["390", "360"])
def test_phone_home_is_the_chat_list_and_a_chat_has_a_back_link(new_page, off_loop, shoot, viewport, scheme):
    _ana_with_a_chat(off_loop)
    page = new_page(viewport=viewport, color_scheme=scheme)
    sign_in(page, "ana")

    # The list is the page: no drawer to open, no "pick a conversation" pane.
    chats = page.get_by_role("list", name="Conversations")
    entry = chats.get_by_role("link", name="Bo Berg")
    expect(entry).to_be_visible()
    expect(entry).to_be_in_viewport(ratio=1)
    expect(page.get_by_role("link", name="New chat")).to_be_in_viewport(ratio=1)
    expect(page.get_by_role("button", name="Show conversations")).to_be_hidden()
    expect(page.get_by_text("Pick a conversation on the left")).to_be_hidden()
    box = entry.bounding_box()
    assert box["x"] < 40 and box["x"] + box["width"] > viewport["width"] - 40, "the list is as wide as the screen"
    assert_accessible(page)
    if viewport == PHONE_390:
        shoot(page, "phone-home", widths=WIDTHS)

    # A chat fills the screen, with a visible, labelled way back in its header.
    entry.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bo Berg")
    page.wait_for_selector("body[data-socket=open]", state="attached")
    expect(page.get_by_role("log", name="Messages").get_by_text("Are you coming tonight?")).to_be_visible()
    back = page.get_by_role("link", name="Back to chats")
    expect(back).to_be_in_viewport(ratio=1)
    expect(back).to_have_text("← Chats")
    expect(page.get_by_role("button", name="Show conversations")).to_be_hidden()
    expect(page.get_by_role("complementary", name="Conversations and menu")).to_be_hidden()
    log = page.get_by_role("log", name="Messages").bounding_box()
    assert log["x"] == 0 and log["width"] == viewport["width"], "the chat is full screen"
    assert_accessible(page)
    if viewport == PHONE_390:
        shoot(page, "phone-chat", widths=WIDTHS)

    back.click()
    expect(page).to_have_url(re.compile(r"^http://[^/]+/$"))
    expect(page.get_by_role("list", name="Conversations").get_by_role("link", name="Bo Berg")).to_be_in_viewport()


def test_desktop_keeps_the_list_beside_the_welcome_and_no_back_link(page, off_loop):
    chat = _ana_with_a_chat(off_loop)
    sign_in(page, "ana")
    expect(page.get_by_role("list", name="Conversations").get_by_role("link", name="Bo Berg")).to_be_visible()
    expect(page.get_by_role("heading", name="Welcome, Ana")).to_be_visible()
    expect(page.get_by_text("Pick a conversation on the left")).to_be_visible()
    page.goto(f"/c/{chat.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bo Berg")
    expect(page.get_by_role("link", name="Back to chats")).to_be_hidden()
    expect(page.get_by_role("list", name="Conversations").get_by_role("link", name="Bo Berg")).to_be_visible()
