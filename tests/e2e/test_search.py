"""Finding an old message: search from the sidebar, open the result deep in the chat's past, see it
highlighted among its neighbours, scroll on to newer messages; and the chat header's own search."""

import re

import pytest
from playwright.sync_api import expect

from conftest import make_user
from messaging import services
from messaging.models import Conversation, Message
from messaging.rendering import render_message_html

from .chat_helpers import message_log, open_chat, sign_in

pytestmark = pytest.mark.e2e

COUNT, TARGET = 240, 40


def _history(off_loop):
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    chat = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=bo.pk)

    def fill():
        bodies = {i: f"filler message {i}" for i in range(1, COUNT + 1)}
        bodies[TARGET] = "The golden <ticket> is under the blue mat"
        # Rows written in bulk, as an import would: the database's own index finds them anyway.
        Message.objects.bulk_create([Message(conversation=chat, seq=i, sender=bo if i % 2 else ana, body=body,
                                             body_html=render_message_html(body)) for i, body in bodies.items()])
        Conversation.objects.filter(pk=chat.pk).update(last_seq=COUNT)

    off_loop(fill)
    return chat


def test_search_from_the_sidebar_opens_the_message_in_its_context(new_page, off_loop, shoot):
    chat = _history(off_loop)
    page = new_page()
    sign_in(page, "ana")
    page.wait_for_selector("body[data-socket=open]", state="attached")  # the page's scripts are running
    box = page.get_by_role("searchbox", name="Search messages")
    box.press_sequentially("golden tick")
    status = page.get_by_role("status").filter(has_text="found")
    expect(status).to_have_text("1 message found")
    results = page.get_by_role("list", name="Search results")
    result = results.get_by_role("link")
    expect(result).to_have_count(1)
    expect(result).to_contain_text("Bo Berg")
    # The words are marked; the "<ticket>" typed in the message is text, not markup.
    expect(result.locator("mark")).to_have_text(["golden", "ticket"])
    expect(result).to_contain_text("<ticket>")
    shoot(page, "search-sidebar-results")

    result.click()
    expect(page).to_have_url(re.compile(rf"/c/{chat.pk}/\?at={TARGET}$"))
    log = message_log(page)
    target = log.get_by_role("listitem").filter(has_text="The golden <ticket> is under the blue mat")
    expect(target).to_be_in_viewport()
    expect(target).to_have_attribute("aria-current", "true")
    for neighbour in (f"filler message {TARGET - 1}", f"filler message {TARGET + 1}"):
        expect(log.get_by_role("listitem").filter(has_text=re.compile(rf"^\s*.*{neighbour}\b(?!\d)"))).not_to_have_count(0)
    shoot(page, "search-opened-at-message")

    # Scrolling down loads the newer pages, up to the newest message.
    newest = log.get_by_role("listitem").filter(has_text=f"filler message {COUNT}")
    for _ in range(12):
        if newest.count():
            break
        # The log wraps the list, which is what scrolls.
        log.get_by_role("list").first.evaluate("(el) => { el.scrollTop = el.scrollHeight; }")
        page.wait_for_timeout(150)
    expect(newest).to_have_count(1)
    expect(page.get_by_role("button", name="Load newer messages")).to_have_count(0)


def test_bad_filter_is_explained_and_the_chat_header_searches_this_chat(new_page, off_loop, shoot):
    chat = _history(off_loop)
    page = new_page(color_scheme="dark")
    sign_in(page, "ana")
    open_chat(page, chat.pk)
    page.get_by_text("Search", exact=True).click()
    box = page.get_by_role("searchbox", name="Search this chat")
    expect(box).to_be_focused()
    box.fill("mat has:pdf")
    expect(page.get_by_role("status").filter(has_text="has:file")).to_contain_text(
        "“has:” can be has:file, has:image or has:link, not “pdf”.")
    box.fill("blue")
    page.get_by_role("group", name="Add a filter").last.get_by_role("button", name="From…").click()
    expect(box).to_have_value("blue from:")
    box.press_sequentially("ana")
    results = page.get_by_role("list", name="Search results")
    expect(results.get_by_role("link")).to_have_count(1)
    expect(results.get_by_role("link")).to_contain_text("blue mat")
    shoot(page, "search-chat-header")
