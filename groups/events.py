
from django.template.loader import render_to_string

from chatsite.realtime import event

from .models import GroupInvitation


def group_changed(conversation) -> dict:
    return event("group.changed", {"conversation": conversation.pk, "title": conversation.title},
                 conversation_id=conversation.pk)


def invitation_changed(invitation: GroupInvitation) -> dict:
    """To the invitee: a new invitation (with its HTML for the invitations list) or a changed one."""
    from .selectors import count_pending_invitations

    payload = {
        "id": invitation.pk, "status": invitation.status,
        "pending": count_pending_invitations(invitation.invitee_id),
    }
    if invitation.status == GroupInvitation.Status.PENDING:
        payload["html"] = render_to_string("groups/partials/invitation.html", {"invitation": invitation})
        payload["title"] = invitation.conversation.title
        payload["inviter_name"] = invitation.inviter.display_name if invitation.inviter else ""
    return event("invitation.changed", payload)
