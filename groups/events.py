
from django.template.loader import render_to_string

from chatsite.realtime import event
from messaging.selectors import list_member_summaries

from .models import GroupInvitation


def group_changed(conversation) -> dict:
    return event("group.changed", {"conversation": conversation.pk, "title": conversation.title},
                 conversation_id=conversation.pk)


def members_changed(conversation_id: int) -> dict:
    """To the group: who is in it now, with their read watermarks, for the open chats of its
    members (mentions, "N members", "Seen by N"). Built inside the transaction that changed them."""
    return event("members.changed", {"conversation": conversation_id,
                                     "members": list_member_summaries(conversation_id)},
                 conversation_id=conversation_id)


def invitation_changed(invitation: GroupInvitation) -> dict:
    """To the invitee: a new invitation (with its HTML for the invitations list) or a changed one."""
    from .selectors import count_pending_invitations

    payload = {
        "id": invitation.pk, "status": invitation.status, "conversation": invitation.conversation_id,
        "pending": count_pending_invitations(invitation.invitee_id),
    }
    if invitation.status == GroupInvitation.Status.PENDING:
        payload["html"] = render_to_string("groups/partials/invitation.html", {"invitation": invitation})
        payload["title"] = invitation.conversation.title
        payload["inviter_name"] = invitation.inviter.display_name if invitation.inviter else ""
    return event("invitation.changed", payload)
