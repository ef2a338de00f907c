"""A person reports a message; a moderator deletes it from the queue; it disappears live from the
chat of everyone who has it open."""

import re

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD, make_user
from groups.services import create_group
from messaging import services
from messaging.models import AuditEntry, Report

from .a11y import assert_accessible
from .chat_helpers import message_item, message_log, open_chat, sign_in

pytestmark = pytest.mark.e2e

SPAM = "Cheap watches at totally-legit.example"


def test_a_reported_message_deleted_by_a_moderator_disappears_live(new_page, off_loop, shoot):
    ana, bo, cy = (make_user(name) for name in ("ana", "bo", "cy"))
    make_user("boss", is_staff=True, is_superuser=True)
    group = off_loop(create_group, user=ana, title="Neighbours", member_ids=[bo.pk, cy.pk])
    for person, text in ((ana, "Street party on Saturday?"), (cy, "Count me in"), (ana, "Great!")):
        off_loop(services.send_message, user=person, conversation_id=group.pk, body=text)
    off_loop(services.send_message, user=bo, conversation_id=group.pk, body=SPAM)

    a, c = new_page(), new_page()
    sign_in(a, "ana")
    sign_in(c, "cy")
    open_chat(a, group.pk)
    open_chat(c, group.pk)

    # Ana reports Bo's message from its menu.
    item = message_item(a, SPAM)
    item.get_by_label(re.compile(r"^Actions for message from")).click()
    item.get_by_role("link", name="Report…").click()
    expect(a.get_by_role("heading", name="Report a message")).to_be_visible()
    a.get_by_role("radio", name="Spam").check()
    a.get_by_label("Details").fill("Posted in every group")
    assert_accessible(a)
    shoot(a, "report-message")
    a.get_by_role("button", name="Send report").click()
    expect(a.get_by_text("Your report was sent to the moderators")).to_be_visible()
    a.wait_for_selector("body[data-socket=open]", state="attached")  # back in the chat, live again

    # The moderator opens the queue, reads the report with its context and deletes the message.
    m = new_page(color_scheme="dark")  # the admin pages in dark, the chat pages in light
    m.goto("/admin/")
    m.get_by_label("Username").fill("boss")
    m.get_by_label("Password").fill(PASSWORD)
    m.get_by_role("button", name="Log in").click()
    m.get_by_role("link", name="Reports").click()
    m.get_by_role("link", name=re.compile(r"^\d+$")).first.click()
    expect(m.get_by_role("cell", name=SPAM)).to_be_visible()
    m.get_by_role("radio", name="Delete the message for everyone").check()
    m.get_by_label("Note (kept with the report)").fill("Spam, confirmed")
    assert_accessible(m)
    shoot(m, "report-review", widths=(("desktop", {"width": 1280, "height": 800}),))
    m.get_by_role("button", name="Close the report").click()
    expect(m.get_by_text("The report is closed.")).to_be_visible()

    # Gone live from both open chats, without a reload.
    for page in (a, c):
        expect(message_log(page).get_by_text(SPAM)).to_have_count(0)
    # The dashboard charts today's messages.
    m.get_by_role("link", name="Home").click()
    m.get_by_role("link", name="Dashboard: messages, people and storage").click()
    expect(m.get_by_role("img", name="Messages per day")).to_be_visible()
    expect(m.get_by_role("listitem").filter(has_text="Messages")).to_contain_text("3")  # the deleted one gone
    assert_accessible(m)
    shoot(m, "admin-dashboard", widths=(("desktop", {"width": 1280, "height": 800}),))
    report = Report.objects.get()
    assert (report.status, report.outcome) == ("resolved", "message_deleted")
    assert AuditEntry.objects.filter(action="viewed_chat", actor__username="boss").exists()
