"""Errors that services raise: a stable machine code a client can switch on, and a sentence fit to
show the person (already translated). Views, the socket and the API translate them into their own
answers; each carries both.

Modelled on Zulip's JsonableError: one hierarchy, a code per error, the HTTP status beside it.
"""

from enum import StrEnum


class ErrorCode(StrEnum):
    """Every code a client may receive. Documented in the protocol (chatsite/protocol.py): add to the
    end, never rename."""

    INVALID = "invalid"  # the input is wrong (a field names which, where it can)
    EMPTY = "empty"  # a message or a name with no text
    TOO_LONG = "too_long"  # a text over its length limit
    NOT_FOUND = "not_found"  # no such thing, or not one the person may see
    NOT_MEMBER = "not_member"  # the conversation does not exist or the person is not in it
    FORBIDDEN = "forbidden"  # a member, but the role or the group's settings do not allow it
    BLOCKED = "blocked"  # a block between the two people stops it (said only to the one who blocked)
    FRIENDS_ONLY = "friends_only"  # the other person accepts this from friends only
    RATE_LIMITED = "rate_limited"  # too many of these too fast: wait (HTTP: Retry-After)
    BAD_FRAME = "bad_frame"  # a socket frame that is not a JSON object with a known type and valid fields
    UNKNOWN_FRAME = "unknown_frame"  # a frame type the server does not know
    FRAME_TOO_LARGE = "frame_too_large"  # a frame over SOCKET_FRAME_MAX_BYTES
    SERVER_ERROR = "server_error"  # our fault; the person may try again
    FILE_TOO_LARGE = "file_too_large"  # an upload over UPLOAD_MAX_BYTES
    OVER_QUOTA = "over_quota"  # an upload that would take the person over UPLOAD_QUOTA_BYTES
    FILE_REFUSED = "file_refused"  # bytes that contradict the name, an image too large in pixels, unreadable
    BUSY = "busy"  # already in a call (or the call cannot take that step in its state)
    CALL_FULL = "call_full"  # a full-mesh call has CALL_MAX_PARTICIPANTS people in it
    UNAUTHORIZED = "unauthorized"  # an API request without a valid token (or signed-in session)
    READ_ONLY_TOKEN = "read_only_token"  # a read-only API token asked to change something
    OVER_BUDGET = "over_budget"  # the person used this month's assistant tokens (ASSISTANT_MONTHLY_TOKENS)
    ASSISTANT_OFF = "assistant_off"  # no OPENAI_API_KEY / OPENAI_BASE_URL: the assistant is not set up
    ASSISTANT_FAILED = "assistant_failed"  # the model's endpoint refused, failed or timed out
    # Bots: API sockets and webhooks.
    WEBHOOK_URL_REFUSED = "webhook_url_refused"  # not http(s), or an address the site may not call (SSRF guard)
    TICKET_INVALID = "ticket_invalid"  # a socket ticket unknown, used already, or expired


class ServiceError(Exception):
    status = 400
    code = ErrorCode.INVALID

    def __init__(self, message: str, *, code: ErrorCode | None = None, field: str | None = None):
        super().__init__(message)
        self.message = str(message)
        if code is not None:
            self.code = code
        self.field = field  # the input field at fault, when there is one

    def as_dict(self) -> dict:
        """The one JSON shape of an error, for socket frames and API bodies."""
        error = {"code": str(self.code), "message": self.message}
        if self.field:
            error["field"] = self.field
        return error


class InvalidInput(ServiceError):
    status = 400
    code = ErrorCode.INVALID


class NotAllowed(ServiceError):
    status = 403
    code = ErrorCode.FORBIDDEN


class NotFound(ServiceError):
    status = 404
    code = ErrorCode.NOT_FOUND


class RateLimited(ServiceError):
    status = 429
    code = ErrorCode.RATE_LIMITED
    retry_after: int | None = None  # seconds until the limit's window ends (the API's Retry-After)
