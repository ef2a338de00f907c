"""A person makes a personal access token for a bot, copies it once, sees it used, and revokes it."""

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from conftest import make_user

from .a11y import assert_accessible
from .chat_helpers import sign_in

pytestmark = pytest.mark.e2e


def test_make_use_and_revoke_a_token(page, shoot, off_loop):
    make_user("tess", first_name="Tess", last_name="Ng")
    sign_in(page, "tess")
    page.get_by_text("Tess Ng").first.click()  # the user menu
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    expect(page.get_by_text("You have no tokens yet.")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Name").fill("Deploy bot")
    page.get_by_label("Read only").check()
    page.get_by_role("button", name="Make token").click()
    expect(page.get_by_role("heading", name="Token “Deploy bot” made")).to_be_visible()
    secret = page.get_by_label("Your new token").input_value()
    assert secret.startswith("chat_pat_")
    shoot(page, "api-token-made")

    # The bot uses it; the page then says when it was last used.
    def call_api():
        return Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code
    assert off_loop(call_api) == 200
    page.reload()
    row = page.get_by_role("row", name=re.compile("Deploy bot"))
    expect(row).to_contain_text("Read only")
    expect(row).not_to_contain_text("Never")  # used just now (and 90 days to expiry)
    expect(page.get_by_label("Your new token")).to_have_count(0)  # shown once only

    page.get_by_role("button", name="Revoke Deploy bot").click()
    expect(page.get_by_text("The token was revoked: it no longer works.")).to_be_visible()
    expect(page.get_by_text("You have no tokens yet.")).to_be_visible()
    assert off_loop(call_api) == 401
    shoot(page, "api-tokens-empty")
