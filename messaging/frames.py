"""The messaging app's socket frames (see chatsite.protocol for their fields).

Each handler runs in a database thread (chatsite.realtime.call_service): the events its service
commits are published when it returns, and the dict it returns is sent back to the socket.
"""

from django.conf import settings
from django.utils.translation import gettext as _

from chatsite import protocol
from chatsite.errors import ErrorCode, NotFound
from chatsite.realtime import Socket, frame, on_socket_close, on_socket_open

from . import assistant, selectors, services
from .events import render_message
from .serializers import message_json

RESUME_PAGE = 200  # messages per history frame; the tab asks again while ``more``


@on_socket_open
def follow_conversations(socket: Socket) -> None:
    """The chats the socket follows, and the user counted online: one database call."""
    socket.conversation_ids.update(services.open_socket(user=socket.user))


@frame("message.send", rate=lambda: settings.MESSAGE_RATE_LIMIT)
def send(*, socket: Socket, frame: protocol.MessageSend) -> dict:
    result = services.send_message(user=socket.user, conversation_id=frame.conversation, body=frame.body,
                                   client_id=frame.client_id, reply_to_id=frame.reply_to,
                                   attachment_ids=frame.attachments)
    message = result.message
    return {"type": "message.ack", "client_id": message.client_id, "conversation": message.conversation_id,
            "seq": message.seq, "id": message.pk, "duplicate": not result.created}


@frame("typing", rate="20/10s")
def typing(*, socket: Socket, frame: protocol.Typing) -> None:
    services.notify_typing(user=socket.user, conversation_id=frame.conversation)


@frame("read", rate="60/10s")
def read(*, socket: Socket, frame: protocol.ReadReceipt) -> None:
    services.mark_read(user=socket.user, conversation_id=frame.conversation, seq=frame.seq)


@frame("delivered", rate="60/10s")
def delivered(*, socket: Socket, frame: protocol.ReadReceipt) -> None:
    services.mark_delivered(user=socket.user, conversation_id=frame.conversation, seq=frame.seq)


@frame("resume", rate="60/10s")
def resume(*, socket: Socket, frame: protocol.Resume) -> dict:
    """Everything after the last seq the tab holds, oldest first, in pages of RESUME_PAGE."""
    user = socket.user
    membership = selectors.access_membership(user, frame.conversation)
    messages, more = selectors.list_messages(membership.conversation_id, after_seq=frame.after_seq, limit=RESUME_PAGE)
    reply = {"type": "history", "conversation": membership.conversation_id, "after_seq": frame.after_seq, "more": more}
    if socket.api:  # an app or a bot: the messages as data (messaging.serializers)
        reply["messages"] = [message_json(m, reactions=selectors.reaction_summary(m),
                                          client_id=m.client_id if m.sender_id == user.pk else "") for m in messages]
    else:
        starred = selectors.starred_ids(user, messages)
        reply["messages"] = [{"seq": m.seq, "id": m.pk, "client_id": m.client_id if m.sender_id == user.pk else "",
                              "sender_id": m.sender_id, "html": render_message(m, starred=starred)} for m in messages]
    if membership.conversation.is_group:
        reply["members"] = selectors.list_member_summaries(membership.conversation_id)
    return reply


@frame("assistant.stop", rate="10/10s", database=False)
async def stop_answer(*, socket: Socket, frame: protocol.AssistantStop) -> None:
    """Stop an answer being written (any tab of the person who asked): on the event loop, no database."""
    if frame.conversation not in socket.conversation_ids:
        raise NotFound(_("That conversation does not exist or you are not a member of it."), code=ErrorCode.NOT_MEMBER)
    await assistant.request_stop(user_id=socket.user.pk, conversation_id=frame.conversation, stream=frame.stream)


@on_socket_close
def stop_following(socket: Socket) -> None:
    services.close_socket(user=socket.user, was_active=socket.state.get("active", True),
                          conversation_ids=list(socket.conversation_ids))
