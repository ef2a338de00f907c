"""Every change to a person's account outside allauth's own flows."""

import io
import zoneinfo
from datetime import time as dt_time

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from chatsite.protocol import CLOSE_RECONNECT, CLOSE_SIGNED_OUT
from chatsite.realtime import publish_on_commit, session_group, user_group

from ..models import PushSubscription, User
from ..signals import account_deleted

UNCHANGED = object()  # update_settings: a setting not given stays as it is


def end_live_sessions(*, user_id: int | None = None, session_key: str | None = None) -> None:
    """Close the WebSockets of one browser session (sign-out) or of every session of a user."""
    groups = [session_group(session_key)] if session_key else [user_group(user_id)]
    publish_on_commit(groups, {"type": "session.ended", "close_code": CLOSE_SIGNED_OUT})


@transaction.atomic
def deactivate_user(*, user_id: int) -> None:
    """Stop a person signing in and close every socket they have open, at once. Their sessions
    stop working on the next request (Django's backends refuse an inactive user)."""
    User.objects.filter(pk=user_id).update(is_active=False)
    end_live_sessions(user_id=user_id)


def recheck_live_sessions(*, user_id: int) -> None:
    """Make every socket of the user reconnect, which checks its session again (password changed)."""
    publish_on_commit([user_group(user_id)], {"type": "session.recheck", "close_code": CLOSE_RECONNECT})

AVATAR_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
MAX_PIXELS = 40_000_000


def make_avatar(upload) -> ContentFile:
    """Check an uploaded image and return it as a square PNG thumbnail.

    The type is read from the bytes (Pillow), never from the name or the browser's header.
    """
    if upload.size > settings.AVATAR_MAX_BYTES:
        raise ValidationError(_("The image is too large: at most %(size)s MB.")
                              % {"size": settings.AVATAR_MAX_BYTES // (1024 * 1024)})
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            image_format = probe.format
            # A tiny file can declare a huge canvas: refuse it before decoding a single pixel.
            if probe.width * probe.height > MAX_PIXELS:
                raise ValidationError(_("The image is too large: at most %(pixels)s megapixels.")
                                      % {"pixels": MAX_PIXELS // 1_000_000})
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
            square = ImageOps.fit(image, (settings.AVATAR_SIZE, settings.AVATAR_SIZE), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError, ValueError):
        raise ValidationError(_("That file is not an image we can read.")) from None
    if image_format not in AVATAR_FORMATS:
        raise ValidationError(_("Please upload a JPEG, PNG, GIF or WebP image."))
    out = io.BytesIO()
    square.save(out, format="PNG", optimize=True)
    return ContentFile(out.getvalue(), name="avatar.png")


@transaction.atomic
def update_profile(*, user: User, first_name: str, last_name: str, username: str, about: str, avatar=None, clear_avatar: bool = False) -> User:
    thumbnail = make_avatar(avatar) if avatar else None  # validate before anything is stored
    user.first_name, user.last_name, user.username, user.about = first_name, last_name, username, about
    old_avatar = user.avatar.name if (thumbnail or clear_avatar) else None
    if thumbnail:
        user.avatar.save(thumbnail.name, thumbnail, save=False)
    elif clear_avatar:
        user.avatar = ""
    user.save()
    if old_avatar:
        storage = user.avatar.storage
        transaction.on_commit(lambda: storage.delete(old_avatar))
    return user


@transaction.atomic
def delete_account(*, user: User, request=None) -> None:
    """Deactivate the account and remove personal data; messages stay, attributed to a ghost."""
    old_avatar = user.avatar.name
    storage = user.avatar.storage
    user.username = f"deleted-{user.pk}"
    user.first_name = ""
    user.last_name = ""
    user.email = ""
    user.about = ""
    user.avatar = ""
    user.last_seen = None
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.set_unusable_password()
    user.save()
    EmailAddress.objects.filter(user=user).delete()
    SocialAccount.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    PushSubscription.objects.filter(user=user).delete()  # no device hears of this account again
    account_deleted.send(sender=User, user_id=user.pk)
    if old_avatar:
        transaction.on_commit(lambda: storage.delete(old_avatar))
    end_live_sessions(user_id=user.pk)
    if request is not None:
        logout(request)


@transaction.atomic
def update_settings(*, user: User, direct_messages_from: str, hide_last_seen: bool, email_digest: bool,
                    push_private_previews: bool | None = None, quiet_hours_start=UNCHANGED, quiet_hours_end=UNCHANGED,
                    time_zone: str | None = None) -> User:
    """The privacy and notification settings; the push ones (None / UNCHANGED) stay as they are
    unless given."""
    if direct_messages_from not in ("everyone", "friends"):
        raise ValidationError(_("Choose who may start a chat with you."))
    user.direct_messages_from, user.hide_last_seen, user.email_digest = direct_messages_from, hide_last_seen, email_digest
    fields = ["direct_messages_from", "hide_last_seen", "email_digest"]
    if push_private_previews is not None:
        user.push_private_previews = bool(push_private_previews)
        fields.append("push_private_previews")
    if quiet_hours_start is not UNCHANGED or quiet_hours_end is not UNCHANGED:
        start, end = quiet_hours_start or None, quiet_hours_end or None
        if (start is None) != (end is None) or not all(v is None or isinstance(v, dt_time) for v in (start, end)):
            raise ValidationError(_("Give both times of your quiet hours, or neither."))
        user.quiet_hours_start, user.quiet_hours_end = start, end
        fields += ["quiet_hours_start", "quiet_hours_end"]
    if time_zone is not None:
        if time_zone and time_zone not in zoneinfo.available_timezones():
            raise ValidationError(_("Choose a time zone from the list."))
        user.time_zone = time_zone
        fields.append("time_zone")
    user.save(update_fields=fields)
    return user
