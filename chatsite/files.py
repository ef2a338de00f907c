"""Serving stored files after the caller has authorised the request.

Nothing in storage has a public URL. Filesystem storage streams the file from here; S3 answers
with a redirect to a short-lived presigned URL that forces the same headers.
"""

import mimetypes

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.utils.translation import gettext as _

# Types a browser may show inline without risk of running script in our origin. Everything else
# (SVG, HTML, PDF: each can carry script or forms) is a download.
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "audio/mpeg", "audio/ogg", "audio/webm",
                "audio/wav", "audio/x-wav", "audio/mp4", "video/mp4", "video/webm", "video/ogg", "video/quicktime",
                "text/plain"}
# The longest a presigned download URL lives, whatever AWS_QUERYSTRING_EXPIRE says.
PRESIGNED_MAX_SECONDS = 300


def serve_stored_file(name: str, *, content_type: str | None = None, download_name: str | None = None,
                      max_age: int = 3600):
    if not name:
        raise Http404(_("No such file."))
    content_type = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    inline = content_type in INLINE_TYPES
    download_name = download_name or name.rsplit("/", 1)[-1]
    if hasattr(default_storage, "bucket_name"):  # S3: presigned, short-lived, same headers
        from django.conf import settings
        from django.utils.http import content_disposition_header

        url = default_storage.url(name, parameters={
            "ResponseContentType": content_type,
            "ResponseContentDisposition": content_disposition_header(not inline, download_name),
            "ResponseCacheControl": "private, max-age=300",
        }, expire=min(getattr(settings, "AWS_QUERYSTRING_EXPIRE", PRESIGNED_MAX_SECONDS), PRESIGNED_MAX_SECONDS))
        response = HttpResponseRedirect(url)
        # The redirect itself must not be cached beyond the URL's life, nor shared.
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError:
        raise Http404(_("No such file.")) from None
    response = FileResponse(handle, content_type=content_type, as_attachment=not inline, filename=download_name)
    response["Cache-Control"] = f"private, max-age={max_age}"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
