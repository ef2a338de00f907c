"""Files in the browser: A shares an image and a PDF (progress bars), B sees both live, opens the
viewer and downloads the PDF; A records a voice note and B plays it; both galleries list it all.
The image part again with S3 (moto on 127.0.0.1): the page's CSP admits the bucket's presigned URLs."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import make_user
from messaging import services
from messaging.models import Attachment
from messaging.tests.files import PDF, image_bytes, jpeg_with_gps

from .chat_helpers import message_log, open_chat, sign_in

pytestmark = pytest.mark.e2e

PHOTO = jpeg_with_gps(size=(900, 600))


def _people(off_loop):
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    chat = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=bo.pk)
    return ana, bo, chat


def _attach(page, *files):
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Attach files").click()
    chooser.value.set_files([{"name": name, "mimeType": kind, "buffer": data} for name, kind, data in files])


def _loaded(image) -> None:
    """The image really arrived (a CSP refusal or a failed redirect leaves naturalWidth at 0)."""
    image.scroll_into_view_if_needed()
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") > 0


def _share_photo_and_pdf(a, b, shoot_viewer=lambda page: None):
    _attach(a, ("photo.jpg", "image/jpeg", PHOTO), ("second.png", "image/png", image_bytes("PNG", size=(300, 200))),
            ("report.pdf", "application/pdf", PDF))
    for name in ("photo.jpg", "second.png", "report.pdf"):
        bar = a.get_by_role("progressbar", name=f"Uploading {name}")
        expect(bar).to_be_visible()
        expect(bar).to_have_js_property("value", 1)
    files = a.get_by_role("list", name="Files to send")
    expect(files.get_by_text("Ready")).to_have_count(3)
    box = a.get_by_role("textbox", name="Message")
    box.fill("Holiday pictures")
    box.press("Enter")
    expect(files).to_be_hidden()
    log = message_log(b)
    expect(log.get_by_text("Holiday pictures")).to_be_visible()
    image = log.get_by_role("img", name="photo.jpg")
    expect(image).to_be_visible()
    _loaded(image)
    expect(log.get_by_role("link", name=re.compile(r"^Download report\.pdf, "))).to_be_visible()
    _loaded(log.get_by_role("img", name="second.png"))
    # The viewer: full size, named, Left/Right between the chat's images, closed by Escape.
    log.get_by_role("link", name="Open image photo.jpg").click()
    viewer = b.get_by_role("dialog", name="photo.jpg")
    expect(viewer).to_be_visible()
    full = viewer.get_by_role("img", name="photo.jpg")
    _loaded(full)
    assert full.evaluate("img => img.naturalWidth") == 900
    expect(viewer.get_by_text("1 of 2")).to_be_visible()
    b.keyboard.press("ArrowRight")
    second = b.get_by_role("dialog", name="second.png")
    expect(second.get_by_text("2 of 2")).to_be_visible()
    _loaded(second.get_by_role("img", name="second.png"))
    b.keyboard.press("ArrowRight")  # round to the first
    expect(b.get_by_role("dialog", name="photo.jpg")).to_be_visible()
    b.keyboard.press("ArrowLeft")
    expect(second).to_be_visible()
    expect(second.get_by_role("button", name="Next image")).to_be_visible()
    expect(second.get_by_role("link", name="Download")).to_have_attribute("download", "second.png")
    shoot_viewer(b)
    b.keyboard.press("Escape")
    expect(b.get_by_role("dialog")).to_be_hidden()


def test_sharing_files_voice_notes_and_galleries(new_page, off_loop, shoot):
    ana, bo, chat = _people(off_loop)
    a, b = new_page(), new_page(color_scheme="dark")
    sign_in(a, "ana")
    sign_in(b, "bo")
    open_chat(a, chat.pk)
    open_chat(b, chat.pk)

    _share_photo_and_pdf(a, b, lambda page: shoot(page, "files-viewer"))
    with b.expect_download() as download:
        message_log(b).get_by_role("link", name=re.compile(r"^Download report\.pdf, ")).click()
    assert download.value.suggested_filename == "report.pdf"
    assert Path(download.value.path()).read_bytes() == PDF

    # A voice note from Chromium's fake microphone.
    a.get_by_role("button", name="Record a voice note").click()
    timer = a.get_by_role("timer", name="Recording time")
    expect(timer).to_be_visible()
    expect(timer).not_to_have_text("0:00", timeout=5000)  # (the fake device's seconds pass)
    a.get_by_role("button", name="Stop").click()
    expect(a.get_by_label("Preview of your voice note")).to_be_visible()
    shoot(a, "files-voice-preview")
    a.get_by_role("button", name="Send voice note").click()
    note = message_log(b).get_by_label(re.compile(r"^Voice note, \d+:\d\d$"))
    expect(note).to_be_visible()
    voice = Attachment.objects.get(kind="audio")
    assert voice.duration_ms >= 1000 and voice.content_type in ("audio/webm", "audio/ogg")
    note.click()  # the user's gesture lets the page play it
    note.evaluate("audio => audio.play()")
    expect(note).to_have_js_property("paused", False)
    note.evaluate("audio => new Promise((done) => audio.currentTime > 0 ? done() : audio.addEventListener('timeupdate', done, { once: true }))")
    shoot(a, "files-chat")
    shoot(b, "files-chat")

    # Both galleries.
    for page in (a, b):
        page.get_by_role("link", name="Media and files").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Media and files")
        _loaded(page.get_by_role("img", name="photo.jpg"))
        shoot(page, "files-gallery-media")
        page.get_by_role("link", name="Files", exact=True).click()
        expect(page.get_by_role("link", name="report.pdf", exact=True)).to_be_visible()
        expect(page.get_by_role("link", name=re.compile(r"^voice-note-.*\.(webm|ogg)$"))).to_be_visible()
        shoot(page, "files-gallery-files")
        page.get_by_role("link", name=re.compile(r"^Show “report\.pdf” in the chat")).click()
        expect(message_log(page).get_by_text("Holiday pictures")).to_be_visible()


def test_refusals_are_shown_before_and_after_upload(new_page, off_loop, settings, shoot):
    settings.UPLOAD_MAX_BYTES = 2000  # the page reads it from the form: refused before any upload
    ana, bo, chat = _people(off_loop)
    a = new_page(expected_errors=re.compile(r"^Failed to load resource: the server responded with a status of 400"))
    sign_in(a, "ana")
    open_chat(a, chat.pk)
    _attach(a, ("photo.jpg", "image/jpeg", PHOTO))
    expect(a.get_by_role("alert")).to_have_text(re.compile(r"“photo\.jpg” is too large: files may be up to"))
    # The server's refusal: bytes that contradict the name.
    _attach(a, ("notes.pdf", "application/pdf", b"<html>not a pdf</html>"))
    files = a.get_by_role("list", name="Files to send")
    expect(files.get_by_text(re.compile("does not contain what its name says"))).to_be_visible()
    expect(files.get_by_role("button", name="Retry uploading notes.pdf")).to_be_visible()
    shoot(a, "files-refused")
    a.get_by_role("textbox", name="Message").press("Enter")
    expect(a.get_by_role("alert")).to_have_text("A file could not be uploaded: retry it or remove it.")
    files.get_by_role("button", name="Remove notes.pdf").click()
    expect(files).to_be_hidden()
    assert not Attachment.objects.exists()


def test_images_from_s3_show_under_the_page_csp(new_page, off_loop, s3_storage, shoot):
    ana, bo, chat = _people(off_loop)
    a, b = new_page(), new_page()
    sign_in(a, "ana")
    sign_in(b, "bo")
    open_chat(a, chat.pk)
    open_chat(b, chat.pk)
    _share_photo_and_pdf(a, b)
    images = list(Attachment.objects.filter(kind="image"))
    assert len(images) == 2
    for item in images:
        assert item.status == Attachment.Status.READY and item.message_id
        assert s3_storage.exists(item.file.name) and s3_storage.exists(item.thumbnail.name)
    shoot(b, "files-chat-s3")
