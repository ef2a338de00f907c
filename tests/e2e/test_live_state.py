"""A tab kept up to date by the socket shows what a reload shows: a change made in one tab (or by
someone else) reaches another tab of the same page, which is checked by role and name. The state
test (messaging/tests/test_event_state.py) checks the same against a model of the browser; these
check the browser itself."""

import re

import pytest
from playwright.sync_api import expect

from conftest import make_user
from groups import services as group_services
from messaging import services

from .chat_helpers import message_action, message_item, open_chat, sign_in

pytestmark = pytest.mark.e2e


def test_edits_pins_and_stars_reach_my_other_tabs(new_page, off_loop):
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    cy = make_user("cy", first_name="Cy", last_name="Chen")
    with_bo = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=bo.pk)
    off_loop(services.send_message, user=ana, conversation_id=with_bo.pk, body="hi bo")
    with_cy = off_loop(services.get_or_create_direct_conversation, user=cy, other_id=ana.pk)
    off_loop(services.send_message, user=cy, conversation_id=with_cy.pk, body="hello from cy")

    first, second, bos = new_page(), new_page(), new_page()  # two tabs of Ana's, one of Bo's
    for page, name in ((first, "ana"), (second, "ana"), (bos, "bo")):
        sign_in(page, name)
        open_chat(page, with_bo.pk)
    sidebar = second.get_by_role("list", name="Conversations")
    bo_entry = sidebar.get_by_role("listitem").filter(has_text="Bo Berg")
    expect(bo_entry.get_by_text("You: hi bo")).to_be_visible()
    expect(sidebar.get_by_role("listitem").first).to_contain_text("Cy Chen")

    # Bo stars Ana's message; Ana reacts to it: Bo's tab replaces the message and keeps his star.
    message_action(bos, "hi bo", "Star").click()
    expect(message_item(bos, "hi bo").get_by_role("button", name="Unstar", include_hidden=True)).to_be_attached()
    message_action(first, "hi bo", "React with celebration").click()
    expect(message_item(bos, "hi bo").get_by_role("button", name=re.compile(r"^🎉 1"))).to_be_visible()
    message_item(bos, "hi bo").get_by_label(re.compile(r"^Actions for message from")).click()
    expect(message_item(bos, "hi bo").get_by_role("button", name="Unstar")).to_be_visible()
    expect(bo_entry.get_by_text("You: hi bo")).to_be_visible()  # a reaction keeps the "You: " too

    # Ana edits it in one tab: the other's sidebar still says it is hers.
    message_action(first, "hi bo", "Edit").click()
    first.get_by_role("textbox", name="Edit message").fill("hi bo, edited")
    first.get_by_role("button", name="Save").click()
    expect(bo_entry.get_by_text("You: hi bo, edited")).to_be_visible()

    # Ana pins the chat in one tab: the other lists it first and its header offers to unpin.
    first.get_by_role("button", name="Pin", exact=True).click()
    expect(first.get_by_role("button", name="Unpin", exact=True)).to_be_visible()
    expect(sidebar.get_by_role("listitem").first).to_contain_text("Bo Berg")
    expect(second.get_by_role("button", name="Unpin", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(second.get_by_role("button", name="Pin", exact=True)).to_have_count(0)


def test_an_open_group_chat_follows_its_members(new_page, off_loop):
    olga = make_user("olga", first_name="Olga", last_name="Ortiz")
    mia = make_user("mia", first_name="Mia", last_name="Moss")
    nina = make_user("nina", first_name="Nina", last_name="Novak")
    group = off_loop(group_services.create_group, user=olga, title="Porto", member_ids=[mia.pk])
    sent = off_loop(services.send_message, user=mia, conversation_id=group.pk, body="who is coming?").message
    off_loop(services.mark_read, user=olga, conversation_id=group.pk, seq=sent.seq)

    page = new_page()
    sign_in(page, "mia")
    open_chat(page, group.pk)
    expect(page.get_by_role("link", name="2 members · group info")).to_be_visible()
    mine = message_item(page, "who is coming?")
    expect(mine.get_by_role("button", name="Seen by 1")).to_be_visible()

    off_loop(group_services.add_members, user=olga, conversation_id=group.pk, user_ids=[nina.pk])
    expect(page.get_by_role("link", name="3 members · group info")).to_be_visible()
    box = page.get_by_role("textbox", name="Message")
    box.press_sequentially("@ni")
    expect(page.get_by_role("option", name=re.compile("Nina Novak"))).to_be_visible()
    box.fill("")
    # Nina's read position starts after Mia's message, but she was not there to see it: live and
    # after a reload alike, it stays seen by Olga alone.
    expect(mine.get_by_role("button", name="Seen by 1")).to_be_visible()
    page.reload()
    expect(message_item(page, "who is coming?").get_by_role("button", name="Seen by 1")).to_be_visible()

    off_loop(group_services.remove_member, user=olga, conversation_id=group.pk, member_id=nina.pk)
    expect(page.get_by_role("link", name="2 members · group info")).to_be_visible()
    box = page.get_by_role("textbox", name="Message")
    box.press_sequentially("@ol")
    expect(page.get_by_role("option", name=re.compile("Olga Ortiz"))).to_be_visible()
    box.fill("")
    box.press_sequentially("@ni")
    expect(page.get_by_role("option", name=re.compile("Nina Novak"))).to_have_count(0)
