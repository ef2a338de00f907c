from django.db.models import Case, IntegerField, Value, When
from django.utils.translation import gettext as _

from chatsite.errors import NotFound
from messaging.models import Membership, Message
from messaging.selectors import access_membership

from .models import GroupInvitation

ROLE_ORDER = Case(When(role="owner", then=Value(0)), When(role="admin", then=Value(1)), default=Value(2),
                  output_field=IntegerField())


def access_group_membership(user, conversation_id) -> Membership:
    """The user's membership of a group conversation; NotFound for anything else."""
    membership = access_membership(user, conversation_id)
    if not membership.conversation.is_group:
        raise NotFound(_("That group does not exist or you are not a member of it."))
    return membership


def list_members(conversation_id: int) -> list[Membership]:
    return list(Membership.objects.filter(conversation_id=conversation_id).select_related("user")
                .order_by(ROLE_ORDER, "user__first_name", "user__username"))


def list_pending_invitations_for(user) -> list[GroupInvitation]:
    return list(GroupInvitation.objects.filter(invitee=user, status=GroupInvitation.Status.PENDING)
                .select_related("conversation", "inviter").order_by("-created_at"))


def count_pending_invitations(user_id: int) -> int:
    return GroupInvitation.objects.filter(invitee_id=user_id, status=GroupInvitation.Status.PENDING).count()


def list_group_invitations(conversation_id: int) -> list[GroupInvitation]:
    return list(GroupInvitation.objects.filter(conversation_id=conversation_id, status=GroupInvitation.Status.PENDING)
                .select_related("invitee", "inviter").order_by("-created_at"))


def list_seen_by(message: Message) -> list[Membership]:
    """Members (the sender excluded) whose read watermark has reached the message and who were in
    the group when it was sent. A newcomer's watermark starts at the last message (older history
    is not unread for them: groups.services._join), which says nothing about having seen it; the
    chat page's "Seen by N" (static/js/timeline.js) counts by the same rule."""
    return list(Membership.objects.filter(conversation_id=message.conversation_id, last_read_seq__gte=message.seq,
                                          joined_at__lte=message.created_at)
                .exclude(user_id=message.sender_id).select_related("user").order_by("user__first_name"))


def read_watermarks(conversation_id: int) -> dict[int, int]:
    return dict(Membership.objects.filter(conversation_id=conversation_id).values_list("user_id", "last_read_seq"))
