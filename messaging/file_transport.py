"""Files over HTTP, shared by the site's views and the API so both behave alike: reading one
streamed upload out of a multipart request (the site's /uploads/, the API's POST /api/v1/uploads)
before the checks of messaging.uploads.create_upload run, and serving a message's file to a caller
messaging.selectors.access_attachment has authorised."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.utils.translation import gettext as _

from chatsite.errors import InvalidInput
from chatsite.files import serve_stored_file

from . import uploads
from .models import Attachment

# The multipart envelope adds a little to the file: a declared length well over the limit is
# refused before anything is read.
ENVELOPE_BYTES = 64 * 1024


class SizeLimit(FileUploadHandler):
    """Stops reading a file as soon as it passes UPLOAD_MAX_BYTES (a body without Content-Length
    or one that lied): nothing over the limit reaches the disk."""

    exceeded = False

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.UPLOAD_MAX_BYTES:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def install_size_limit(request) -> SizeLimit:
    """Call before anything reads the body (request.POST, request.FILES, a CSRF check)."""
    limit = SizeLimit(request)
    request.upload_handlers.insert(0, limit)
    return limit


def create_upload_from_request(request, limit: SizeLimit) -> Attachment:
    """The request's multipart ``file`` (``duration_ms`` for a voice note) stored as an upload no
    message has claimed yet; InvalidInput / FileTooLarge / FileRefused / OverQuota otherwise."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.UPLOAD_MAX_BYTES + ENVELOPE_BYTES:
        uploads.check_size(declared)
    uploaded = request.FILES.get("file")  # (read here, or already by the CSRF check)
    if limit.exceeded:
        uploads.check_size(settings.UPLOAD_MAX_BYTES + 1)
    if uploaded is None:
        raise InvalidInput(_("Choose a file to upload."), field="file")
    return uploads.create_upload(user=request.user, uploaded=uploaded, name=uploaded.name,
                                 declared_type=uploaded.content_type or "", duration_ms=request.POST.get("duration_ms"))


def serve_attachment(attachment: Attachment, *, thumbnail: bool = False):
    """The file (or its thumbnail): streamed, or a redirect to a presigned S3 URL (chatsite.files)."""
    if thumbnail and attachment.thumbnail:
        return serve_stored_file(attachment.thumbnail.name, content_type=uploads.THUMBNAIL_TYPE,
                                 download_name=f"thumbnail-{attachment.original_name}.webp")
    return serve_stored_file(attachment.file.name, content_type=attachment.content_type,
                             download_name=attachment.original_name)
