"""A person asks the assistant and watches the answer stream in, stops a second answer halfway,
reloads and finds both stored (the live server is pointed at the fake OpenAI-compatible server)."""

import pytest
from playwright.sync_api import expect

from conftest import make_user
from messaging.models import Message

from .a11y import assert_accessible
from .chat_helpers import message_log, send, sign_in

pytestmark = pytest.mark.e2e

STORY = ["Once", " upon", " a", " time", " there", " was", " a", " very", " long", " story", " that", " went",
         " on", " and", " on", " until", " the", " very", " last", " word:", " end."]


def test_ask_watch_it_stream_stop_the_next_and_find_both_after_a_reload(new_page, fake_openai, shoot):
    make_user("ana", first_name="Ana", last_name="Lima")
    fake_openai.default = "slow"
    page = new_page()
    sign_in(page, "ana")
    page.get_by_role("link", name="Assistant", exact=True).click()
    page.wait_for_selector("body[data-socket=open]", state="attached")
    expect(page.get_by_role("heading", level=1, name="Assistant")).to_be_visible()
    expect(page.get_by_text("No questions yet.")).to_be_visible()

    # The answer appears while it is written (a bubble that grows), then is stored as one message.
    send(page, "Say hello")
    writing = message_log(page).locator("li.msg-streaming")
    expect(writing.get_by_text("Hello there")).to_be_visible()
    expect(writing).to_have_count(0, timeout=15_000)
    answer = message_log(page).get_by_role("listitem").filter(has_text="Hello there! How can I help?")
    expect(answer).to_have_count(1)
    expect(answer.locator(".msg-sender")).to_have_text("Assistant")

    # A second answer, stopped halfway: what was written so far is kept.
    fake_openai.tokens = STORY
    send(page, "Tell me a long story")
    writing = message_log(page).locator("li.msg-streaming")
    expect(writing.get_by_text("Once upon a time")).to_be_visible()
    assert_accessible(page, include="#chat")
    shoot(page, "assistant-streaming")
    writing.get_by_role("button", name="Stop the answer").click()
    expect(writing).to_have_count(0)
    stopped = message_log(page).get_by_role("listitem").filter(has_text="Once upon a time")
    expect(stopped).to_have_count(1)
    kept = Message.objects.filter(sender__is_bot=True).order_by("seq").values_list("body", flat=True)
    assert list(kept)[0] == "Hello there! How can I help?"
    assert list(kept)[1].startswith("Once upon a time") and not list(kept)[1].endswith("end.")

    # After a reload both answers are there, from the database, with both questions.
    page.reload()
    page.wait_for_selector("body[data-socket=open]", state="attached")
    log = message_log(page)
    for text in ("Say hello", "Hello there! How can I help?", "Tell me a long story", list(kept)[1]):
        expect(log.get_by_role("listitem").filter(has_text=text)).to_have_count(1)
    assert len(fake_openai.requests) == 2
    assert_accessible(page)
    shoot(page, "assistant-chat")

    dark = new_page(color_scheme="dark")
    sign_in(dark, "ana")
    dark.get_by_role("link", name="Assistant", exact=True).click()
    expect(message_log(dark).get_by_text("Hello there! How can I help?")).to_be_visible()
    assert_accessible(dark)
    shoot(dark, "assistant-chat")
