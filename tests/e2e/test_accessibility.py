"""axe-core finds no serious or critical violation on the main pages, in light and dark (issue #18).

The pages are filled as people see them: a chat with a reply, a reaction, a day divider, an unread
line and the ⋯ menu open; a group with members of every role; the sign-in page with an error.
"""

import re

import pytest
from playwright.sync_api import expect

from conftest import make_user
from groups import services as group_services
from messaging import services

from .a11y import assert_accessible
from .chat_helpers import message_item, open_chat, sign_in
from .conftest import DESKTOP

pytestmark = pytest.mark.e2e

PHONE_390 = {"width": 390, "height": 844}


def _people_and_chats(off_loop):
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    cy = make_user("cy", first_name="Cy", last_name="Chen")

    def fill():
        chat = services.get_or_create_direct_conversation(user=ana, other_id=bo.pk)
        first = services.send_message(user=ana, conversation_id=chat.pk, body="Hello **Bo**, see `this`").message
        services.send_message(user=bo, conversation_id=chat.pk, body="Hi Ana", reply_to_id=first.pk)
        services.toggle_reaction(user=bo, message_id=first.pk, emoji="👍")
        services.send_message(user=bo, conversation_id=chat.pk, body="Unread for Ana")
        group = group_services.create_group(user=ana, title="Trip to Porto", member_ids=[bo.pk, cy.pk])
        services.send_message(user=cy, conversation_id=group.pk, body="Hi all @ana")
        return chat, group

    chat, group = off_loop(fill)
    return ana, chat, group


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE_390], ids=["desktop", "390"])
def test_main_pages_have_no_serious_accessibility_violation(new_page, off_loop, scheme, viewport):
    ana, chat, group = _people_and_chats(off_loop)
    page = new_page(viewport=viewport, color_scheme=scheme)

    page.goto("/accounts/login/")
    assert_accessible(page)
    page.get_by_label("Username or email").fill("ana")
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(page.get_by_text(re.compile("not correct"))).to_be_visible()
    assert_accessible(page)

    sign_in(page, "ana")
    assert_accessible(page)  # the home page: the chat list

    open_chat(page, chat.pk)
    assert_accessible(page)
    message_item(page, "Hello Bo").get_by_label(re.compile(r"^Actions for message from")).click()
    expect(message_item(page, "Hello Bo").get_by_role("button", name="Reply", exact=True)).to_be_visible()
    assert_accessible(page)

    open_chat(page, group.pk)
    assert_accessible(page)
    page.goto(f"/g/{group.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Trip to Porto")
    assert_accessible(page)

    for url in ("/settings/privacy/", f"/people/{ana.pk}/", "/settings/profile/"):
        page.goto(url)
        assert_accessible(page)
