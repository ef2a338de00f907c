"""POST /api/v1/socket/ticket: a one-time ticket for a client that cannot put its token in the
socket's subprotocol (docs/socket-protocol.md). Thin: accounts.services.tokens does the work."""

from django.conf import settings
from ninja import Router, Schema, Status

from chatsite.apikit import responses

from .services.tokens import issue_socket_ticket

router = Router(tags=["socket"])


class TicketOut(Schema):
    ticket: str
    expires_in: int  # seconds to open the socket in; the ticket works once
    url: str  # the socket's path with the ticket, e.g. /ws/?ticket=chat_tkt_…


@router.post("/socket/ticket", response=responses(TicketOut, 201), summary="A one-time ticket to open the socket",
             url_name="socket_ticket")
def socket_ticket(request):
    """Open ``wss://<site>/ws/?ticket=<ticket>`` within ``expires_in`` seconds; the ticket then
    stops working. The socket is the token's: revoking the token closes it, and a read-only token's
    socket may only read (ping, resume, presence, call.sync). Clients that can set
    the socket's subprotocol need no ticket: offer ``chat.v1, bearer.<token>``."""
    expires_at = None
    if request.api_token is None:  # a JWT access token: the socket ends when it expires
        expires_at = getattr(request, "auth_expires_at", None)
    ticket = issue_socket_ticket(user=request.user, api_token=request.api_token, expires_at=expires_at)
    return Status(201, {"ticket": ticket, "expires_in": settings.SOCKET_TICKET_SECONDS, "url": f"/ws/?ticket={ticket}"})
