"""Calls between two browsers (fake camera and microphone, host candidates on 127.0.0.1: no STUN)."""

import pytest
from playwright.sync_api import expect

from accounts.models import Notification
from calls import services as call_services
from calls.models import Call
from conftest import make_user
from messaging import services

from .chat_helpers import message_item, open_chat, sign_in

pytestmark = pytest.mark.e2e

# The remote tile's <video> plays frames from the other browser (its width is known only then).
PLAYING = "video => video.readyState >= 2 && video.videoWidth > 0 && !video.paused"


def remote_tile(page, name):
    return page.get_by_role("figure", name=name)


def expect_playing(page, name):
    video = remote_tile(page, name).locator("video")
    expect(video).to_be_attached()
    try:
        # A wait, not a speed check: three browsers' fake cameras and ICE on a busy 2-core machine
        # can take longer than the default wait to connect a mesh.
        page.wait_for_function(PLAYING, arg=video.element_handle(), timeout=30_000)
    except Exception:
        state = page.evaluate("""() => Array.from(document.querySelectorAll('figure')).map(f => [f.getAttribute('aria-label'),
          f.dataset.peer, f.dataset.connected, f.textContent, f.querySelector('video').readyState,
          f.querySelector('video').videoWidth, f.querySelector('video').paused,
          f.querySelector('video').srcObject && f.querySelector('video').srcObject.getTracks().map(t => t.kind + t.readyState)])""")
        raise AssertionError(f"{name} not playing on {page.url}: {state}") from None


def test_video_call_between_two_browsers(new_page, off_loop, shoot):
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    chat = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=bo.pk)
    a, b = new_page(), new_page(color_scheme="dark")
    sign_in(a, "ana")
    sign_in(b, "bo")
    open_chat(a, chat.pk)
    open_chat(b, chat.pk)

    a.get_by_role("button", name="Video call", exact=True).click()
    expect(a.get_by_role("heading", name="Video call with Bo Berg")).to_be_visible()
    expect(a.get_by_text("Calling…")).to_be_visible()
    dialog = b.get_by_role("alertdialog", name="Incoming video call")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Ana Lima is calling you")
    shoot(b, "call-incoming")
    dialog.get_by_role("button", name="Accept video").click()
    expect(dialog).to_be_hidden()

    # Both peer connections carry the other's camera.
    expect_playing(a, "Bo Berg")
    expect_playing(b, "Ana Lima")
    expect(remote_tile(b, "Ana Lima")).not_to_contain_text("Connecting")
    expect(a.get_by_role("timer", name="Call duration")).to_be_visible()
    shoot(a, "call-ongoing")
    shoot(b, "call-ongoing")

    # A mutes: B's tile of A says so; A unmutes: it no longer does.
    a.get_by_role("button", name="Mute microphone").click()
    expect(a.get_by_role("button", name="Unmute microphone")).to_have_attribute("aria-pressed", "true")
    expect(remote_tile(b, "Ana Lima")).to_contain_text("Muted")
    a.get_by_role("button", name="Turn camera off").click()
    expect(remote_tile(b, "Ana Lima")).to_contain_text("Camera off")
    a.get_by_role("button", name="Turn camera on").click()
    expect(remote_tile(b, "Ana Lima")).not_to_contain_text("Camera off")
    a.get_by_role("button", name="Unmute microphone").click()
    expect(remote_tile(b, "Ana Lima")).not_to_contain_text("Muted")

    # A shares a (fake) screen: B's tile says so and shows it; then back to the camera.
    a.get_by_role("button", name="Share screen").click()
    expect(a.get_by_role("button", name="Stop sharing")).to_have_attribute("aria-pressed", "true")
    expect(remote_tile(b, "Ana Lima")).to_contain_text("Sharing screen")
    expect_playing(b, "Ana Lima")
    a.get_by_role("button", name="Stop sharing").click()
    expect(remote_tile(b, "Ana Lima")).not_to_contain_text("Sharing screen")

    # Minimised, the call is a bar; expanded again, the tiles come back.
    b.get_by_role("button", name="Minimise").click()
    expect(remote_tile(b, "Ana Lima")).to_be_hidden()
    shoot(b, "call-minimised")
    b.get_by_role("button", name="Expand").click()
    expect(remote_tile(b, "Ana Lima")).to_be_visible()

    a.get_by_role("button", name="Hang up").click()
    for page in (a, b):
        expect(message_item(page, "Video call, ")).to_be_visible()
        expect(page.get_by_role("button", name="Hang up")).to_have_count(0)
    call = Call.objects.get()
    assert call.status == Call.Status.ENDED and call.duration_seconds is not None

    # Both see it in their history.
    for page, other in ((a, "Bo Berg"), (b, "Ana Lima")):
        page.get_by_role("link", name="Calls", exact=True).click()
        row = page.get_by_role("row").filter(has_text=other)
        expect(row).to_contain_text("Ended")
        expect(row.get_by_role("link", name=f"Call back {other} (video)")).to_be_visible()
    expect(a.get_by_role("row").filter(has_text="Bo Berg")).to_contain_text("Outgoing video")
    expect(b.get_by_role("row").filter(has_text="Ana Lima")).to_contain_text("Incoming video")
    shoot(a, "call-history")


def test_call_survives_navigating_to_another_chat(new_page, off_loop):
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    cy = make_user("cy", first_name="Cy", last_name="Cole")
    chat = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=bo.pk)
    other_chat = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=cy.pk)
    a, b = new_page(), new_page()
    sign_in(a, "ana")
    sign_in(b, "bo")
    open_chat(a, chat.pk)
    open_chat(b, chat.pk)
    a.get_by_role("button", name="Audio call", exact=True).click()
    b.get_by_role("alertdialog", name="Incoming audio call").get_by_role("button", name="Accept audio").click()
    expect(b.get_by_role("heading", name="Audio call with Ana Lima")).to_be_visible()
    expect(remote_tile(b, "Ana Lima")).not_to_contain_text("Connecting")

    # A opens another chat: a new page, which rejoins the call as a bar.
    open_chat(a, other_chat.pk)
    expect(a.get_by_role("heading", name="Audio call with Bo Berg")).to_be_visible()
    expect(a.get_by_role("button", name="Expand")).to_be_visible()
    expect(a.get_by_role("link", name="Open chat")).to_be_visible()
    a.get_by_role("button", name="Expand").click()
    expect(remote_tile(a, "Bo Berg")).not_to_contain_text("Connecting")
    expect(remote_tile(b, "Ana Lima")).not_to_contain_text("Reconnecting")
    assert Call.objects.get().status == Call.Status.ONGOING
    b.get_by_role("button", name="Hang up").click()
    expect(a.get_by_role("button", name="Hang up")).to_have_count(0)
    assert Call.objects.get().status == Call.Status.ENDED


def test_missed_call(new_page, off_loop, settings):
    settings.CALL_RING_SECONDS = 1
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    chat = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=bo.pk)
    a, b = new_page(), new_page()
    sign_in(a, "ana")
    sign_in(b, "bo")
    open_chat(a, chat.pk)
    b.goto("/calls/")
    b.wait_for_selector("body[data-socket=open]", state="attached")
    a.get_by_role("button", name="Audio call", exact=True).click()
    dialog = b.get_by_role("alertdialog", name="Incoming audio call")
    expect(dialog).to_be_visible()  # on any page of the site
    # Nobody answers: the caller's tab asks again after the ring time, and the call is missed.
    expect(message_item(a, "Missed audio call")).to_be_visible()
    expect(dialog).to_be_hidden()
    expect(a.get_by_role("button", name="Hang up")).to_have_count(0)
    notification = Notification.objects.get(recipient=bo, kind=Notification.Kind.MISSED_CALL)
    assert notification.text == "Missed audio call from Ana Lima"
    expect(b.locator("#bell-count")).to_have_text("1")
    off_loop(call_services.sweep_calls)  # the periodic sweep finds nothing more to do
    assert Call.objects.get().status == Call.Status.MISSED


def test_group_call_mesh_with_a_late_joiner(new_page, off_loop, shoot):
    from groups import services as group_services

    names = {"ana": "Ana Lima", "bo": "Bo Berg", "cy": "Cy Cole", "dee": "Dee Dorn"}
    people = {u: make_user(u, first_name=n.split()[0], last_name=n.split()[1]) for u, n in names.items()}
    group = off_loop(group_services.create_group, user=people["ana"], title="Crew",
                     member_ids=[people[u].pk for u in ("bo", "cy", "dee")])
    pages = {}
    for username in names:
        pages[username] = new_page()
        sign_in(pages[username], username)
        open_chat(pages[username], group.pk)
    ana, bo, cy, dee = (pages[u] for u in names)

    ana.get_by_role("button", name="Video call", exact=True).click()
    for page in (bo, cy):
        dialog = page.get_by_role("alertdialog", name="Incoming video call")
        expect(dialog).to_contain_text("Ana Lima is calling Crew")
        dialog.get_by_role("button", name="Accept video").click()
    dee.get_by_role("alertdialog", name="Incoming video call").get_by_role("button", name="Decline").click()
    # Three people, connected pairwise.
    for me, page in (("ana", ana), ("bo", bo), ("cy", cy)):
        for other in ("ana", "bo", "cy"):
            if other != me:
                expect_playing(page, names[other])
    # Dee changes her mind and joins the call going on: she offers to the three.
    dee.get_by_role("button", name="Join call").click()
    for me, page in pages.items():
        for other in names:
            if other != me:
                expect_playing(page, names[other])
    shoot(dee, "call-group")
    # Cy leaves: the call goes on for the others, without Cy's tile.
    cy.get_by_role("button", name="Hang up").click()
    for page in (ana, bo, dee):
        expect(remote_tile(page, "Cy Cole")).to_have_count(0)
    assert Call.objects.get().status == Call.Status.ONGOING
    # It ends when the last person leaves.
    for page in (ana, bo, dee):
        page.get_by_role("button", name="Hang up").click()
    for page in pages.values():
        expect(message_item(page, "Video call, ")).to_be_visible()
    assert Call.objects.get().status == Call.Status.ENDED
