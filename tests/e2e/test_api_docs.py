"""The API's interactive docs (/api/v1/docs): Swagger UI from the site's own static files, under
the site's Content-Security-Policy (the page fixture fails on any console error, CSP violations
included), listing the API's operations."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_the_docs_render_with_self_hosted_assets_and_list_the_operations(page, live_url):
    outside = []
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(live_url) else None)
    response = page.goto("/api/v1/docs")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="API")).to_be_visible()
    # A few operations of each part, by the summaries the schema gives them.
    for summary in ("My conversations", "Send a message", "A page of messages", "Upload a file",
                    "A group's members", "My call history", "My notifications"):
        expect(page.get_by_text(summary, exact=True).first).to_be_visible()
    # Opening one shows its parameters and the one error shape.
    page.get_by_text("A page of messages", exact=True).first.click()
    expect(page.get_by_text("before", exact=True).first).to_be_visible()
    # (No shoot(): its check of control names would judge Swagger UI's own markup, not ours.)
    assert not [url for url in outside if not url.startswith(("data:", "blob:"))], outside
