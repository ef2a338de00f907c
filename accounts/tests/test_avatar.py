"""Avatar upload (checked, squared, re-encoded, stored under a server-made name) and serving."""

import io
import os
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from accounts.models import User
from conftest import make_user

from .helpers import image_bytes, page_text, stored_files

pytestmark = pytest.mark.django_db

EDIT = reverse("profile_edit")
LOGIN = reverse("account_login")
STORED_NAME = re.compile(r"avatars/[0-9a-f]{32}\.png")
GREEN = (0, 255, 0)


def upload(client, user, content: bytes, name="me.png", content_type="image/png", **extra):
    data = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "username": user.username,
        "about": user.about,
        "avatar": SimpleUploadedFile(name, content, content_type=content_type),
        **extra,
    }
    return client.post(EDIT, data)


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def near(pixel, color, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], color, strict=True))


def open_stored(media, user) -> Image.Image:
    with Image.open(media / fresh(user).avatar.name) as image:
        image.load()
        return image


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif")])
def test_upload_is_stored_as_a_256_square_png(alice_client, alice, media, fmt, content_type):
    response = upload(alice_client, alice, image_bytes(fmt), name=f"holiday.{fmt.lower()}", content_type=content_type)

    assert response.status_code == 302
    assert response["Location"] == reverse("profile_detail", args=[alice.pk])
    name = fresh(alice).avatar.name
    assert STORED_NAME.fullmatch(name)
    assert stored_files(media) == [name]
    image = open_stored(media, alice)
    assert image.format == "PNG"
    assert image.size == (256, 256)


def test_wide_image_is_cropped_to_its_centre_not_squashed(alice_client, alice, media):
    # Red | green | blue bands: the centred square is all green.
    upload(alice_client, alice, image_bytes("PNG", size=(300, 100)))

    image = open_stored(media, alice).convert("RGB")
    # (A few pixels in from the edges: resampling blends in the neighbouring bands there.)
    for xy in [(16, 16), (240, 16), (128, 128), (16, 240), (240, 240)]:
        assert near(image.getpixel(xy), GREEN), (xy, image.getpixel(xy))


def test_phone_photo_is_turned_upright(alice_client, alice, media):
    # A JPEG whose EXIF says "rotate 90° clockwise to display": left (red) ends up on top.
    raw = Image.new("RGB", (200, 100), "red")
    raw.paste("blue", (100, 0, 200, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    raw.save(out, format="JPEG", exif=exif, quality=95)

    upload(alice_client, alice, out.getvalue(), name="IMG_0001.jpg", content_type="image/jpeg")

    image = open_stored(media, alice).convert("RGB")
    assert near(image.getpixel((5, 5)), (255, 0, 0))
    assert near(image.getpixel((5, 250)), (0, 0, 255))


def test_transparency_is_kept(alice_client, alice, media):
    picture = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    out = io.BytesIO()
    picture.save(out, format="PNG")

    upload(alice_client, alice, out.getvalue())

    image = open_stored(media, alice)
    assert image.mode == "RGBA"
    assert image.getpixel((128, 128))[3] == 0


@pytest.mark.parametrize("name", ["../../etc/passwd.png", "<script>.png", "photo.exe.jpg", "ünïcode name.webp"])
def test_stored_name_never_comes_from_the_upload(alice_client, alice, media, name):
    upload(alice_client, alice, image_bytes("PNG"), name=name, content_type="text/html")

    stored = fresh(alice).avatar.name
    assert STORED_NAME.fullmatch(stored)
    assert stored_files(media) == [stored]


def test_oversize_file_is_refused_and_nothing_stored(alice_client, alice, media, settings):
    assert settings.AVATAR_MAX_BYTES == 5 * 1024 * 1024
    side = 1400  # random pixels do not compress: a little over 5 MB
    noise = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    noise.save(out, format="PNG", compress_level=0)
    assert len(out.getvalue()) > settings.AVATAR_MAX_BYTES

    response = upload(alice_client, alice, out.getvalue(), name="huge.png", first_name="Changed")

    assert response.status_code == 400
    assert "The image is too large: at most 5 MB." in page_text(response)
    assert fresh(alice).avatar.name == ""
    assert fresh(alice).first_name == "Alice"
    assert "Alice Archer" in page_text(response)  # the menu shows the stored name, not the refused one
    assert "Changed Archer" not in page_text(response)
    assert stored_files(media) == []


@pytest.mark.parametrize(
    "content",
    [
        b"this is plain text, not a picture",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"<html><body><script>alert(1)</script></body></html>",
        image_bytes("PNG")[:60],  # a PNG cut short
    ],
    ids=["text", "svg", "html", "truncated-png"],
)
def test_non_image_named_png_is_refused_and_nothing_stored(alice_client, alice, media, content):
    response = upload(alice_client, alice, content, name="avatar.png", content_type="image/png")

    assert response.status_code == 400
    assert "Upload a valid image." in page_text(response)
    assert fresh(alice).avatar.name == ""
    assert stored_files(media) == []


def test_other_fields_are_not_saved_when_the_avatar_is_refused(alice_client, alice, media):
    response = upload(alice_client, alice, b"not an image", first_name="Changed")

    assert response.status_code == 400
    assert fresh(alice).first_name == "Alice"


def test_new_avatar_replaces_and_deletes_the_old_file(alice_client, alice, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload(alice_client, alice, image_bytes("PNG"))
    first = fresh(alice).avatar.name

    with django_capture_on_commit_callbacks(execute=True):
        upload(alice_client, alice, image_bytes("JPEG"), name="second.jpg", content_type="image/jpeg")

    second = fresh(alice).avatar.name
    assert second != first
    assert stored_files(media) == [second]


def test_refused_upload_keeps_the_current_avatar(alice_client, alice, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload(alice_client, alice, image_bytes("PNG"))
    current = fresh(alice).avatar.name

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(alice_client, alice, b"junk")

    assert response.status_code == 400
    assert fresh(alice).avatar.name == current
    assert stored_files(media) == [current]


def test_clearing_the_avatar_deletes_the_file(alice_client, alice, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload(alice_client, alice, image_bytes("PNG"))

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(EDIT, {
            "first_name": "Alice", "last_name": "Archer", "username": "alice", "about": "", "avatar-clear": "on",
        })

    assert response.status_code == 302
    assert fresh(alice).avatar.name == ""
    assert stored_files(media) == []
    # Without a picture, the initials stand in.
    assert "AA" in page_text(alice_client.get(reverse("profile_detail", args=[alice.pk])))


def test_avatar_is_served_as_png_to_signed_in_people(alice_client, alice, bob, media):
    upload(alice_client, alice, image_bytes("JPEG"), name="me.jpg", content_type="image/jpeg")
    url = reverse("avatar", args=[alice.pk])
    page = alice_client.get(reverse("profile_detail", args=[alice.pk]))
    assert url in page.content.decode()
    someone = Client()
    someone.force_login(bob)

    response = someone.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"].startswith("private")
    body = b"".join(response.streaming_content)
    assert body == (media / fresh(alice).avatar.name).read_bytes()
    with Image.open(io.BytesIO(body)) as image:
        assert (image.format, image.size) == ("PNG", (256, 256))


def test_avatar_needs_a_signed_in_user(alice_client, alice, media):
    upload(alice_client, alice, image_bytes("PNG"))
    url = reverse("avatar", args=[alice.pk])

    response = Client().get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={url}"


def test_no_avatar_and_inactive_users_give_404(alice_client, alice, bob, media):
    assert alice_client.get(reverse("avatar", args=[bob.pk])).status_code == 404

    gone = make_user("gone")
    gone.avatar = "avatars/" + "0" * 32 + ".png"
    gone.is_active = False
    gone.save()
    assert alice_client.get(reverse("avatar", args=[gone.pk])).status_code == 404


def test_a_small_file_declaring_a_huge_canvas_is_refused_before_decoding(client, db):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from conftest import make_user

    user = make_user("bombadil")
    data = io.BytesIO()
    Image.new("L", (8000, 6000)).save(data, format="PNG")  # 48 megapixels, a few kB
    client.force_login(user)
    response = client.post("/settings/profile/", {
        "first_name": "Tom", "last_name": "B", "username": "bombadil", "about": "",
        "avatar": SimpleUploadedFile("bomb.png", data.getvalue(), content_type="image/png")})
    assert response.status_code == 400 and "at most 40 megapixels" in response.content.decode()
    user.refresh_from_db()
    assert not user.avatar
