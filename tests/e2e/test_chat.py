"""Two people chatting in two browsers: live delivery, receipts, typing, edit, delete, reply, and
no loss or duplicate across a dropped connection."""

import re

import pytest
from playwright.sync_api import expect

from conftest import make_user
from messaging import services
from messaging.models import Message

from .chat_helpers import DroppableSocket, message_action, message_item, message_log, open_chat, send, sign_in
from .conftest import DESKTOP

pytestmark = pytest.mark.e2e


def test_two_people_chat_live(new_page, off_loop, shoot):
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    chat = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=bo.pk)

    a, b = new_page(), new_page()
    sign_in(a, "ana")
    sign_in(b, "bo")
    b_socket = DroppableSocket(b)
    open_chat(a, chat.pk)
    open_chat(b, chat.pk)
    expect(a.get_by_text("No messages yet. Say hello!")).to_be_visible()

    # A sends; B sees it live; A sees it acknowledged and then seen (B's tab is open and visible).
    send(a, "Hello **Bo**")
    expect(message_log(b).get_by_text("Hello Bo")).to_be_visible()
    expect(message_log(b).locator("strong", has_text="Bo")).to_be_visible()
    expect(message_item(a, "Hello Bo").get_by_text("Seen")).to_be_visible()

    # B types: A is told; B replies to A's message; A sees the quote.
    b.get_by_role("textbox", name="Message").press_sequentially("Hi")
    expect(a.get_by_text("Bo is typing…")).to_be_visible()
    b.get_by_role("textbox", name="Message").fill("")
    message_action(b, "Hello Bo", "Reply").click()
    expect(b.get_by_text("Replying to Ana Lima: Hello Bo")).to_be_visible()
    send(b, "Hi Ana, good to hear from you")
    reply = message_item(a, "good to hear from you")
    expect(reply.get_by_role("link", name=re.compile("Reply to Ana Lima"))).to_be_visible()
    shoot(a, "chat-live")

    # A edits, then deletes: both propagate.
    message_action(a, "Hello Bo", "Edit").click()
    a.get_by_role("textbox", name="Edit message").fill("Hello Bo, edited")
    a.get_by_role("button", name="Save").click()
    expect(message_item(b, "Hello Bo, edited").get_by_text("(edited)")).to_be_visible()
    a.once("dialog", lambda dialog: dialog.accept())
    message_action(a, "Hello Bo, edited", "Delete").click()
    expect(message_log(b).get_by_text("This message was deleted.")).to_be_visible()
    expect(message_log(b).get_by_text("Hello Bo, edited")).to_have_count(0)

    # B's connection drops; A sends five messages; B comes back and shows all five once, in order.
    b_socket.drop()
    b.wait_for_selector("body[data-socket=closed]", state="attached")
    expect(b.get_by_role("status").filter(has_text="Reconnecting")).to_be_visible()
    for n in range(1, 6):
        send(a, f"while you were away {n}")
    expect(message_item(a, "while you were away 5").get_by_text("Sent")).to_be_visible()
    expect(message_log(b).get_by_text("while you were away 1")).to_have_count(0)
    b_socket.restore()
    expect(message_log(b).get_by_text("while you were away 5")).to_be_visible(timeout=15_000)
    texts = message_log(b).get_by_role("listitem").filter(has_text="while you were away").all_inner_texts()
    order = [int(re.search(r"while you were away (\d)", t).group(1)) for t in texts]
    assert order == [1, 2, 3, 4, 5]
    seqs = [int(s) for s in b.locator("#messages > li.msg").evaluate_all("els => els.map(e => e.dataset.seq)")]
    assert seqs == sorted(set(seqs)), "messages are in seq order with no duplicate"
    assert Message.objects.filter(conversation=chat).count() == 7
    expect(message_item(a, "while you were away 5").get_by_text("Seen")).to_be_visible()


def test_sidebar_updates_live_and_unread_badge(new_page, off_loop, shoot):
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    cy = make_user("cy", first_name="Cy", last_name="Chen")
    with_bo = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=bo.pk)
    a = new_page()
    sign_in(a, "ana")
    open_chat(a, with_bo.pk)
    sidebar = a.get_by_role("list", name="Conversations")
    # Cy starts a chat with Ana while she reads Bo's: it appears at the top with one unread message.
    with_cy = off_loop(services.get_or_create_direct_conversation, user=cy, other_id=ana.pk)
    off_loop(services.send_message, user=cy, conversation_id=with_cy.pk, body="Lunch tomorrow?")
    entry = sidebar.get_by_role("listitem").filter(has_text="Cy Chen")
    expect(entry.get_by_text("Lunch tomorrow?")).to_be_visible()
    expect(entry.get_by_text("1 unread")).to_be_visible()
    expect(sidebar.get_by_role("listitem").first).to_contain_text("Cy Chen")
    off_loop(services.send_message, user=cy, conversation_id=with_cy.pk, body="12:30?")
    expect(entry.get_by_text("2 unread")).to_be_visible()
    # Opening the chat reads it: the badge goes away.
    entry.get_by_role("link").click()
    expect(a.get_by_role("heading", level=1)).to_have_text("Cy Chen")
    expect(a.get_by_role("list", name="Conversations").get_by_role("listitem").filter(has_text="Cy Chen")
           .get_by_text("unread")).to_be_hidden()
    shoot(a, "chat-sidebar")


def test_composer_keeps_drafts_and_refuses_overlong_text(page, off_loop):
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    chat = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=bo.pk)
    sign_in(page, "ana")
    open_chat(page, chat.pk)
    box = page.get_by_role("textbox", name="Message")
    box.fill("half-written thought")
    page.reload()
    expect(page.get_by_role("textbox", name="Message")).to_have_value("half-written thought")
    box = page.get_by_role("textbox", name="Message")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    box.press("Enter")
    expect(message_item(page, "second line").get_by_text("Sent")).to_be_visible()  # acknowledged = stored
    assert Message.objects.get().body == "half-written thought\nsecond line"
    box.fill("x" * 4001)
    box.press("Enter")
    expect(page.get_by_role("alert").filter(has_text="at most 4,000 characters")).to_be_visible()
    assert Message.objects.count() == 1


def test_long_chat_list_loads_more_as_it_scrolls_and_stars_from_the_menu(page, off_loop):
    from messaging.selectors import SIDEBAR_PAGE_SIZE

    ana = make_user("ana", first_name="Ana", last_name="Lima")

    def many_chats():
        for i in range(SIDEBAR_PAGE_SIZE + 3):
            pal = make_user(f"pal{i}", first_name=f"Pal{i}", last_name="Test")
            chat = services.get_or_create_direct_conversation(user=ana, other_id=pal.pk)
            services.send_message(user=pal, conversation_id=chat.pk, body=f"note from pal {i}")
        return chat

    newest = off_loop(many_chats)
    sign_in(page, "ana")
    sidebar = page.get_by_role("list", name="Conversations")
    expect(sidebar.get_by_role("listitem")).to_have_count(SIDEBAR_PAGE_SIZE + 1)  # + the loader
    page.get_by_role("button", name="More conversations").scroll_into_view_if_needed()
    expect(sidebar.get_by_role("link", name=re.compile(r"\bPal0 Test\b"))).to_be_visible()
    expect(sidebar.get_by_role("listitem")).to_have_count(SIDEBAR_PAGE_SIZE + 3)

    open_chat(page, newest.pk)
    message_action(page, "note from pal", "Star").click()
    message_item(page, "note from pal").get_by_label(re.compile(r"^Actions for message from")).click()
    expect(message_item(page, "note from pal").get_by_role("button", name="Unstar")).to_be_visible()
    page.get_by_role("link", name="Starred").click()
    expect(page.get_by_role("list", name="Starred messages").get_by_text("note from pal")).to_be_visible()


@pytest.mark.parametrize("viewport", [DESKTOP, {"width": 360, "height": 740}, {"width": 390, "height": 844}],
                         ids=["desktop", "360", "390"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_message_menu_at_the_bottom_opens_in_view_and_escape_closes_it(new_page, off_loop, shoot, viewport, scheme):
    """The newest message's ⋯ menu is whole above the composer; Escape closes it and focus returns."""
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    chat = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=bo.pk)
    for n in range(25):
        off_loop(services.send_message, user=ana, conversation_id=chat.pk, body=f"Line {n}")
    page = new_page(viewport=viewport, color_scheme=scheme)
    sign_in(page, "ana")
    open_chat(page, chat.pk)
    item = message_item(page, "Line 24")
    expect(item).to_be_in_viewport()

    summary = item.get_by_label(re.compile(r"^Actions for message from"))
    summary.click()
    composer = page.get_by_role("textbox", name="Message").bounding_box()
    for name in ("Reply", "Star", "Edit", "Delete"):
        button = item.get_by_role("button", name=name, exact=True)
        expect(button).to_be_in_viewport(ratio=1)
        assert button.bounding_box()["y"] + button.bounding_box()["height"] <= composer["y"], name
    last_reaction = item.get_by_role("group", name="React").get_by_role("button").last
    expect(last_reaction).to_be_in_viewport(ratio=1)
    assert last_reaction.bounding_box()["y"] + last_reaction.bounding_box()["height"] <= composer["y"]
    suffix = "-dark" if scheme == "dark" else ""
    page.screenshot(path=shoot.dir / f"message-menu-bottom-{viewport['width']}{suffix}.png")

    page.keyboard.press("Escape")
    expect(item.get_by_role("button", name="Reply", exact=True)).to_be_hidden()
    expect(summary).to_be_focused()


def test_htmx_only_urls_opened_as_a_page_land_on_a_full_page(page, off_loop):
    """A fragment's URL typed or bookmarked shows the page that hosts it, never an unstyled piece."""
    from django.urls import reverse

    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    chat = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=bo.pk)
    off_loop(services.send_message, user=ana, conversation_id=chat.pk, body="Hello")
    message_id = Message.objects.get(conversation_id=chat.pk).pk
    sign_in(page, "ana")
    for url, lands_on in [
        ("/chats/", "/"),
        (reverse("message_page", args=[chat.pk]) + "?before=5", reverse("conversation", args=[chat.pk])),
        (reverse("edit_message", args=[message_id]), "/"),
        (reverse("seen_by", args=[message_id]), "/"),
        (reverse("group_people_picker") + "?q=bo", reverse("group_create")),
    ]:
        page.goto(url)
        expect(page).to_have_url(re.compile(re.escape(lands_on) + "$"))
        # The whole app shell, styled: the sidebar and the main area are there.
        expect(page.get_by_role("complementary", name="Conversations and menu")).to_be_visible()
        expect(page.get_by_role("main")).to_be_visible()
