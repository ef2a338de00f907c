"""Attachments: upload first, then a message claims its uploads in the same send.

Every upload is checked here, whatever the way in (streamed through the server, or put straight
into the bucket through a presigned POST and checked after): its size against UPLOAD_MAX_BYTES,
the uploader's storage against UPLOAD_QUOTA_BYTES, its type sniffed from the bytes (``filetype``;
the browser's word is only a hint between audio and video of one container) and never contradicting
the name's extension. Images (JPEG, PNG, GIF, WebP) are re-encoded by Pillow, so that nothing but
pixels survives (EXIF, GPS, comments, ICC), with a WebP thumbnail; more than UPLOAD_MAX_PIXELS
pixels is refused before any pixel is decoded.

Storage keys are server-made UUIDs (messaging.models.attachment_path); the name the person gave is
kept only as data. Deleting an Attachment row (a message deleted, a group deleted, an account
deleted, an upload never claimed) deletes its file and thumbnail from storage after the commit.
"""

import io
import mimetypes
import uuid
from datetime import timedelta

import filetype
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.signals import post_delete
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from accounts.models import User
from chatsite import ratelimit, s3
from chatsite.errors import ErrorCode, InvalidInput, NotFound, ServiceError
from chatsite.ids import parse_id
from chatsite.text import strip_unsafe

from .models import Attachment, Message
from .selectors import count_stored_bytes

UPLOAD_RATE = "60/m"
HEAD_BYTES = 8192  # what the sniffer reads: enough for every signature filetype knows
THUMBNAIL_SIZE = (480, 480)
THUMBNAIL_TYPE = "image/webp"
PRESIGNED_POST_SECONDS = 300

IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
VIDEO_TYPES = {"video/mp4", "video/webm", "video/quicktime", "video/ogg"}
# One container, two names: a recording is audio/webm to the browser, video/webm to the sniffer.
_SAME_CONTAINER = {
    "audio/webm": "video/webm", "audio/ogg": "video/ogg", "audio/opus": "video/ogg", "audio/mp4": "video/mp4",
    "audio/x-m4a": "video/mp4", "audio/m4a": "video/mp4", "audio/wav": "audio/x-wav", "audio/x-flac": "audio/flac",
    "image/jpg": "image/jpeg", "application/x-pdf": "application/pdf", "audio/mp3": "audio/mpeg",
}
# What the sniffer can recognise: a name claiming one of these must have the bytes to match.
_SNIFFABLE = {kind.mime for kind in filetype.types} | set(_SAME_CONTAINER)


class FileRefused(ServiceError):
    status = 400
    code = ErrorCode.FILE_REFUSED


class FileTooLarge(ServiceError):
    status = 413
    code = ErrorCode.FILE_TOO_LARGE


class OverQuota(ServiceError):
    status = 413
    code = ErrorCode.OVER_QUOTA


def _canonical(content_type: str | None) -> str | None:
    if not content_type:
        return None
    content_type = content_type.split(";")[0].strip().lower()
    return _SAME_CONTAINER.get(content_type, content_type)


def _name_type(name: str) -> str | None:
    return mimetypes.guess_type(name, strict=False)[0] if "." in name else None


def sniff(head: bytes, *, name: str, declared_type: str = "") -> tuple[str, str]:
    """(content type, attachment kind) from the first bytes. A name whose extension says another
    type than the bytes is refused, and so is a name claiming a recognisable type (``.png``) whose
    bytes are not of it."""
    guess = filetype.guess(head)
    sniffed = guess.mime if guess else None
    by_name = _name_type(name)
    if by_name and (sniffed or by_name in _SNIFFABLE) and _canonical(by_name) != _canonical(sniffed):
        raise FileRefused(_("“%(name)s” does not contain what its name says: rename it or choose another file.")
                          % {"name": name}, field="file")
    if sniffed is None:
        # Text and other unrecognisable files: the name's type, served as a download (chatsite/files.py).
        return by_name or "application/octet-stream", Attachment.Kind.FILE
    if sniffed in IMAGE_FORMATS:
        return sniffed, Attachment.Kind.IMAGE
    declared = (declared_type or by_name or "").split(";")[0].strip().lower()
    if sniffed.startswith("audio/") or (declared.startswith("audio/") and _canonical(declared) == _canonical(sniffed)):
        return (declared if declared.startswith("audio/") else sniffed), Attachment.Kind.AUDIO
    if sniffed in VIDEO_TYPES:
        return sniffed, Attachment.Kind.VIDEO
    return sniffed, Attachment.Kind.FILE


# --- images -------------------------------------------------------------------------------------

def _check_pixels(image: Image.Image) -> None:
    width, height = image.size
    frames = getattr(image, "n_frames", 1)
    if width * height > settings.UPLOAD_MAX_PIXELS or width * height * frames > 4 * settings.UPLOAD_MAX_PIXELS:
        raise FileRefused(_("That image is too large (%(width)s × %(height)s pixels).")
                          % {"width": width, "height": height}, field="file")


def _clean_frame(frame: Image.Image, mode: str) -> Image.Image:
    clean = frame.convert(mode)
    clean.info = {}  # no EXIF, XMP, ICC, comments: only pixels are kept
    return clean


def process_image(handle, content_type: str) -> tuple[bytes, int, int, bytes]:
    """(re-encoded bytes, width, height, WebP thumbnail) of an image, or FileRefused."""
    pillow_format = IMAGE_FORMATS[content_type]
    try:
        with Image.open(handle, formats=[pillow_format]) as image:
            _check_pixels(image)  # the header only: nothing is decoded yet
            out = io.BytesIO()
            if getattr(image, "n_frames", 1) > 1:
                frames, durations = [], []
                for frame in ImageSequence.Iterator(image):
                    durations.append(frame.info.get("duration", 100))
                    frames.append(_clean_frame(frame, "RGBA"))
                frames[0].save(out, format=pillow_format, save_all=True, append_images=frames[1:], duration=durations,
                               loop=image.info.get("loop", 0))
                first = frames[0]
            else:
                upright = ImageOps.exif_transpose(image)  # the pixels as the camera meant them, then no EXIF
                mode = "RGB" if pillow_format == "JPEG" or upright.mode in ("CMYK", "YCbCr") else (
                    upright.mode if upright.mode in ("RGB", "RGBA", "L", "LA", "P") else "RGBA")
                first = _clean_frame(upright, mode)
                options = {"quality": 90} if pillow_format in ("JPEG", "WEBP") else {}
                first.save(out, format=pillow_format, **options)
            width, height = first.size
            thumb = first.convert("RGBA")
            thumb.thumbnail(THUMBNAIL_SIZE)
            thumb_out = io.BytesIO()
            thumb.save(thumb_out, format="WEBP", quality=80)
    except Image.DecompressionBombError:  # Pillow's own limit, should UPLOAD_MAX_PIXELS be above it
        raise FileRefused(_("That image is too large."), field="file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise FileRefused(_("That image could not be read."), field="file") from None
    return out.getvalue(), width, height, thumb_out.getvalue()


# --- checks shared by both ways in --------------------------------------------------------------

def _clean_name(name) -> str:
    name = strip_unsafe(str(name or "")).replace("/", "_").replace("\\", "_").strip() or _("file")
    stem, dot, extension = name.rpartition(".")
    if len(name) > 200:
        name = (stem[: 200 - len(extension) - 1] + dot + extension) if dot and len(extension) < 16 else name[:200]
    return name


def check_size(size: int) -> None:
    if size > settings.UPLOAD_MAX_BYTES:
        raise FileTooLarge(_("That file is too large: files may be up to %(limit)s.")
                           % {"limit": _megabytes(settings.UPLOAD_MAX_BYTES)}, field="file")
    if size <= 0:
        raise FileRefused(_("That file is empty."), field="file")


def _megabytes(size: int) -> str:
    return _("%(size)s MB") % {"size": f"{size / 1024 / 1024:.0f}" if size >= 1024 * 1024 else f"{size / 1024 / 1024:.2f}"}


def _check_quota(user: User, size: int, *, exclude_id: int | None = None) -> None:
    used = count_stored_bytes(user) - (Attachment.objects.get(pk=exclude_id).size if exclude_id else 0)
    if used + size > settings.UPLOAD_QUOTA_BYTES:
        raise OverQuota(_("Your storage is full: %(used)s of %(quota)s used. Delete some files to send more.")
                        % {"used": _megabytes(used), "quota": _megabytes(settings.UPLOAD_QUOTA_BYTES)}, field="file")


def _lock_user(user: User) -> None:
    """Uploads of one person are counted against the quota one at a time."""
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()


def _duration(duration_ms) -> int | None:
    value = parse_id(duration_ms) if duration_ms not in (None, "") else None
    return min(value, 24 * 3600 * 1000) if value else None


def _prepare(handle, *, name: str, declared_type: str) -> dict:
    """Sniff (and for images re-encode) an upload's bytes: the fields of its Attachment, and the
    new bytes when they differ from what was uploaded."""
    handle.seek(0)
    head = handle.read(HEAD_BYTES)
    handle.seek(0)
    content_type, kind = sniff(head, name=name, declared_type=declared_type)
    fields = {"content_type": content_type, "kind": kind}
    if kind == Attachment.Kind.IMAGE:
        data, width, height, thumbnail = process_image(handle, content_type)
        fields.update(width=width, height=height, data=data, thumbnail=thumbnail)
    return fields


def _new_key() -> str:
    return f"attachments/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}"


# --- the services -------------------------------------------------------------------------------

def create_upload(*, user: User, uploaded: File, name: str = "", declared_type: str = "",
                  duration_ms: int | None = None) -> Attachment:
    """Store one upload (not yet in any message): checked, re-encoded when an image."""
    ratelimit.hit("upload", user.pk, UPLOAD_RATE, _("You are uploading too fast. Please wait a moment."))
    name = _clean_name(name or getattr(uploaded, "name", ""))
    check_size(uploaded.size)
    _check_quota(user, uploaded.size)  # early: no work for a file that cannot be kept
    fields = _prepare(uploaded, name=name, declared_type=declared_type)
    data, thumbnail = fields.pop("data", None), fields.pop("thumbnail", None)
    size = len(data) if data is not None else uploaded.size
    storage = default_storage
    key = storage.save(_new_key(), ContentFile(data) if data is not None else uploaded)
    thumb_key = storage.save(_new_key(), ContentFile(thumbnail)) if thumbnail else ""
    try:
        with transaction.atomic():
            _lock_user(user)
            _check_quota(user, size)
            return Attachment.objects.create(uploader=user, file=key, thumbnail=thumb_key, size=size, original_name=name,
                                             duration_ms=_duration(duration_ms), status=Attachment.Status.READY,
                                             **fields)
    except BaseException:
        _delete_files([key, thumb_key], storage)
        raise


def start_direct_upload(*, user: User, name: str, size, content_type: str, duration_ms=None) -> tuple[Attachment, dict]:
    """S3: reserve an upload and a presigned POST for the browser to put it straight into the
    bucket (one key, the declared type, at most the declared size). ``finish_direct_upload``
    checks what arrived."""
    if not s3.is_s3(default_storage):
        raise InvalidInput(_("Direct uploads need S3 storage."))
    ratelimit.hit("upload", user.pk, UPLOAD_RATE, _("You are uploading too fast. Please wait a moment."))
    name = _clean_name(name)
    size = parse_id(size)
    if size is None:
        raise InvalidInput(_("The file's size is missing."), field="size")
    check_size(size)
    content_type = (content_type or "application/octet-stream").split(";")[0].strip().lower()[:100]
    if not content_type.isascii() or "/" not in content_type:
        content_type = "application/octet-stream"
    with transaction.atomic():
        _lock_user(user)
        _check_quota(user, size)
        attachment = Attachment.objects.create(uploader=user, file=_new_key(), size=size, original_name=name,
                                               content_type=content_type, status=Attachment.Status.PENDING,
                                               duration_ms=_duration(duration_ms))
    post = s3.presigned_post(default_storage, key=attachment.file.name, content_type=content_type, max_bytes=size,
                             expires=PRESIGNED_POST_SECONDS)
    return attachment, post


def finish_direct_upload(*, user: User, attachment_id) -> Attachment:
    """S3: check the object a presigned POST put in the bucket (its size and sniffed type; images
    re-encoded like any upload) before a message may claim it."""
    attachment = Attachment.objects.filter(pk=parse_id(attachment_id) or 0, uploader=user, message__isnull=True).first()
    if attachment is None:
        raise NotFound(_("That upload does not exist."))
    if attachment.status == Attachment.Status.READY:
        return attachment
    storage = default_storage
    stored = s3.head(storage, attachment.file.name)
    if stored is None:
        raise NotFound(_("The file did not arrive. Please try again."))
    try:
        check_size(stored["size"])
        if stored["size"] > attachment.size:  # the policy's range, checked again here
            raise FileTooLarge(_("The file is larger than announced."), field="file")
        with storage.open(attachment.file.name, "rb") as handle:
            fields = _prepare(handle, name=attachment.original_name, declared_type=attachment.content_type)
        data, thumbnail = fields.pop("data", None), fields.pop("thumbnail", None)
        size = len(data) if data is not None else stored["size"]
        if data is not None:  # the re-encoded image replaces what the browser sent, under a new key
            old_key = attachment.file.name
            attachment.file.name = storage.save(_new_key(), ContentFile(data))
            storage.delete(old_key)
        if thumbnail:
            attachment.thumbnail.name = storage.save(_new_key(), ContentFile(thumbnail))
        with transaction.atomic():
            _lock_user(user)
            _check_quota(user, size, exclude_id=attachment.pk)
            for field, value in fields.items():
                setattr(attachment, field, value)
            attachment.size, attachment.status = size, Attachment.Status.READY
            attachment.save()
    except ServiceError:
        attachment.delete()  # the files go with the row (post_delete below)
        raise
    return attachment


def cancel_upload(*, user: User, attachment_id) -> None:
    """The person removed a file from the composer before sending."""
    Attachment.objects.filter(pk=parse_id(attachment_id) or 0, uploader=user, message__isnull=True).delete()


def claim_uploads(*, user: User, attachment_ids) -> list[Attachment]:
    """The sender's own ready, unclaimed uploads among ``attachment_ids``, locked for the send's
    transaction (which then stores the message that claims them). Someone else's upload, one already sent (a
    retried send's) or one not checked yet is refused: nobody can put another person's file in a
    message by guessing its id."""
    ids = []
    for raw in attachment_ids or ():
        value = parse_id(raw)
        if value is None:
            raise InvalidInput(_("A file id is not valid."), field="attachments")
        if value not in ids:
            ids.append(value)
    if len(ids) > settings.UPLOAD_MAX_FILES:
        raise InvalidInput(_("A message may carry up to %(count)s files.") % {"count": settings.UPLOAD_MAX_FILES},
                           field="attachments")
    found = {a.pk: a for a in Attachment.objects.select_for_update().filter(
        pk__in=ids, uploader=user, message__isnull=True, status=Attachment.Status.READY)}
    if len(found) != len(ids):
        raise NotFound(_("A file of this message was not found: it may have been sent already or removed."),
                       field="attachments")
    return [found[i] for i in ids]


def message_kind(attachments: list[Attachment]) -> str:
    kinds = {a.kind for a in attachments}
    return kinds.pop() if len(kinds) == 1 else Message.Kind.FILE


def delete_unclaimed_uploads(*, older_than: timedelta | None = None, dry_run: bool = False) -> list[Attachment]:
    """Remove uploads no message claimed within the grace period (UPLOAD_GRACE_MINUTES), files
    included. Returns what was (or, with ``dry_run``, would be) removed. Safe to run at any time
    and from several places: a claim and this removal lock the same rows."""
    if older_than is None:
        older_than = timedelta(minutes=settings.UPLOAD_GRACE_MINUTES)
    cutoff = timezone.now() - older_than
    stale = Attachment.objects.filter(message__isnull=True, created_at__lt=cutoff)
    if dry_run:
        return list(stale)
    removed = []
    with transaction.atomic():
        for attachment in stale.select_for_update():
            removed.append(attachment)
            attachment.delete()
    return removed


def delete_uploads_of(*, user_id: int) -> int:
    """An account was deleted: every file it uploaded goes, in every chat."""
    with transaction.atomic():
        attachments = list(Attachment.objects.filter(uploader_id=user_id))
        for attachment in attachments:
            attachment.delete()
    return len(attachments)


# --- files follow their rows --------------------------------------------------------------------

def _delete_files(names, storage) -> None:
    for name in names:
        if name:
            storage.delete(name)


def _files_of_deleted_row(sender, instance: Attachment, **kwargs) -> None:
    """Whatever deleted the row (a message, a group's cascade, an account, the sweep), its bytes
    go after the commit, never before: a rolled-back delete keeps its files."""
    names = [f.name for f in (instance.file, instance.thumbnail) if f]
    storage = instance.file.storage
    transaction.on_commit(lambda: _delete_files(names, storage))


post_delete.connect(_files_of_deleted_row, sender=Attachment, dispatch_uid="attachment-files")
