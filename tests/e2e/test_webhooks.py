"""A person makes an incoming webhook from a chat's header, copies its address once, a script posts
through it (the message appears live, "via" the hook's name), and the person revokes it."""

import json
import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from conftest import make_user
from groups import services as group_services
from messaging import services, webhooks

from .a11y import assert_accessible
from .chat_helpers import message_item, open_chat, sign_in
from .conftest import PHONE

pytestmark = pytest.mark.e2e


def test_make_post_through_and_revoke_an_incoming_webhook(page, shoot, off_loop):
    wren, kai = make_user("wren", first_name="Wren"), make_user("kai", first_name="Kai")
    chat = off_loop(services.get_or_create_direct_conversation, user=wren, other_id=kai.pk)
    sign_in(page, "wren")
    open_chat(page, chat.pk)
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name=re.compile("Webhooks of"), level=1)).to_be_visible()
    expect(page.get_by_text("This chat has no webhooks.")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Name").fill("Deploys")
    page.get_by_role("button", name="Make webhook").click()
    expect(page.get_by_role("heading", name="Webhook “Deploys” made")).to_be_visible()
    url = page.get_by_label("Webhook address").input_value()
    assert "/hooks/chat_hook_" in url
    assert_accessible(page)
    shoot(page, "incoming-webhook-made")
    path = url[url.index("/hooks/"):]

    def post(text):
        response = Client().post(path, json.dumps({"text": text}), content_type="application/json")
        return response.status_code

    page.get_by_role("link", name="Back to the chat").click()
    page.wait_for_selector("body[data-socket=open]", state="attached")
    assert off_loop(post, "v2 is live") == 201
    item = message_item(page, "v2 is live")
    expect(item).to_be_visible()
    expect(item).to_contain_text("via Deploys")

    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_label("Webhook address")).to_have_count(0)  # shown once only
    row = page.get_by_role("row", name=re.compile("Deploys"))
    expect(row).not_to_contain_text("Never")  # used just now
    page.get_by_role("button", name="Revoke Deploys").click()
    expect(page.get_by_text("The webhook was revoked: its address no longer works.")).to_be_visible()
    expect(page.get_by_text("This chat has no webhooks.")).to_be_visible()
    assert off_loop(post, "after revoking") == 404


def test_the_webhooks_page_in_dark_mode_on_a_phone(new_page, shoot, off_loop):
    owner, member = make_user("oona", first_name="Oona"), make_user("mo", first_name="Mo")
    group = off_loop(group_services.create_group, user=owner, title="Night shift", member_ids=[member.pk])
    off_loop(webhooks.create_incoming_webhook, user=member, conversation_id=group.pk, name="Pager")
    page = new_page(viewport=PHONE, color_scheme="dark")
    sign_in(page, "oona")
    page.goto(f"/c/{group.pk}/hooks/")
    row = page.get_by_role("row", name=re.compile("Pager"))
    expect(row).to_contain_text("Mo")
    expect(page.get_by_role("button", name="Revoke Pager")).to_be_visible()  # a group admin may revoke it
    assert_accessible(page)
    shoot(page, "incoming-webhooks-dark-phone")
