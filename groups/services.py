"""Managing group conversations: creation, roles, settings, invitations, membership changes.

Every membership change takes effect at once on the sockets (conversation.joined / .left events
make them join or leave the conversation's channel-layer group) and leaves a system message in the
chat ("Ana added Bo").
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import policy
from accounts import services as account_services
from accounts.models import User
from chatsite import ratelimit
from chatsite.errors import ErrorCode, InvalidInput, NotAllowed, NotFound
from chatsite.ids import parse_id, require_id
from chatsite.realtime import conversation_group, publish_on_commit, user_group
from chatsite.text import clean_text
from messaging import events as message_events
from messaging.models import Conversation, Membership
from messaging.services import post_system_message

from . import events
from .models import GroupInvitation
from .selectors import access_group_membership

Role = Membership.Role
TITLE_MAX = 100
DESCRIPTION_MAX = 500


SOCIAL_RATE = "30/m"  # groups created and invitations sent per person


def _clean_title(title) -> str:
    title = clean_text(title, max_length=TITLE_MAX, what=_("A group name"), field="title")
    if not title:
        raise InvalidInput(_("A group needs a name."), code=ErrorCode.EMPTY, field="title")
    return title


def _clean_description(description) -> str:
    return clean_text(description, max_length=DESCRIPTION_MAX, what=_("A description"), multiline=True,
                      field="description")


def _active_users(user_ids) -> list[User]:
    if isinstance(user_ids, (str, bytes)) or not hasattr(user_ids, "__iter__"):
        raise InvalidInput(_("Pick people from the list."))
    ids = {parse_id(i) for i in user_ids}
    if None in ids:
        # A whole number beyond any id is nobody ("not found"); anything else was not a choice.
        if any(parse_id(i) is None and not str(i).strip().lstrip("+-").isdigit() for i in user_ids):
            raise InvalidInput(_("Pick people from the list."))
        raise NotFound(_("Some of those people do not exist."))
    users = list(User.objects.filter(pk__in=ids, is_active=True))
    if len(users) != len(ids):
        raise NotFound(_("Some of those people do not exist."))
    return users


def _require_admin(membership: Membership, refusal: str) -> None:
    """``refusal``: the sentence for a member who is not an admin ("Only group admins can ...")."""
    if not membership.is_admin:
        raise NotAllowed(refusal)


def _check_size(conversation: Conversation, adding: int) -> None:
    size = Membership.objects.filter(conversation=conversation).count()
    if size + adding > settings.GROUP_MAX_MEMBERS:
        raise InvalidInput(
            ngettext("A group can have at most %(max)s member (%(size)s now, %(adding)s more asked for).",
                     "A group can have at most %(max)s members (%(size)s now, %(adding)s more asked for).",
                     settings.GROUP_MAX_MEMBERS)
            % {"max": settings.GROUP_MAX_MEMBERS, "size": size, "adding": adding})


def _join(conversation: Conversation, users: list[User]) -> None:
    Membership.objects.bulk_create([
        # New members start reading from now: older history counts as read, not as unread.
        Membership(conversation=conversation, user=u, role=Role.MEMBER, last_read_seq=conversation.last_seq,
                   last_delivered_seq=conversation.last_seq)
        for u in users
    ])
    for u in users:
        publish_on_commit([user_group(u.pk)], message_events.conversation_joined(conversation_id=conversation.pk, user_id=u.pk))


def _leave(conversation: Conversation, user_id: int) -> None:
    Membership.objects.filter(conversation=conversation, user_id=user_id).delete()
    GroupInvitation.objects.filter(conversation=conversation, invitee_id=user_id, status=GroupInvitation.Status.PENDING).update(
        status=GroupInvitation.Status.REVOKED, responded_at=timezone.now())
    publish_on_commit([user_group(user_id)], message_events.conversation_left(conversation_id=conversation.pk, user_id=user_id))


def _members_changed(conversation: Conversation) -> None:
    """The open chats of the members follow who is in the group (after the change, in its transaction)."""
    publish_on_commit([conversation_group(conversation.pk)], events.members_changed(conversation.pk))


def _names(users) -> str:
    names = [u.display_name for u in users]
    if len(names) == 1:
        return names[0]
    # Translators: the end of a list of names: "Ana, Bo and Cy".
    return _("%(names)s and %(last)s") % {"names": ", ".join(names[:-1]), "last": names[-1]}


@transaction.atomic
def _set_avatar(conversation: Conversation, upload) -> None:
    """A square PNG made from the upload (checked by its bytes); the old file goes after commit."""
    try:
        thumbnail = account_services.make_avatar(upload)
    except ValidationError as error:
        raise InvalidInput(error.messages[0]) from None
    old = conversation.avatar.name
    conversation.avatar.save(thumbnail.name, thumbnail, save=False)
    if old:
        storage = conversation.avatar.storage
        transaction.on_commit(lambda: storage.delete(old))


@transaction.atomic
def create_group(*, user: User, title: str, description: str = "", member_ids=(), avatar=None) -> Conversation:
    title, description = _clean_title(title), _clean_description(description)
    ratelimit.hit("social", user.pk, SOCIAL_RATE, _("You are creating groups too fast. Please wait a moment."))
    members = [u for u in _active_users(member_ids) if u.pk != user.pk]
    policy.check_group_add(user, members)
    if len(members) + 1 > settings.GROUP_MAX_MEMBERS:
        raise InvalidInput(ngettext("A group can have at most %(max)s member.",
                                    "A group can have at most %(max)s members.",
                                    settings.GROUP_MAX_MEMBERS) % {"max": settings.GROUP_MAX_MEMBERS})
    conversation = Conversation(kind=Conversation.Kind.GROUP, title=title, description=description, created_by=user)
    if avatar:
        _set_avatar(conversation, avatar)
    conversation.save()
    Membership.objects.create(conversation=conversation, user=user, role=Role.OWNER)
    publish_on_commit([user_group(user.pk)], message_events.conversation_joined(conversation_id=conversation.pk, user_id=user.pk))
    post_system_message(conversation_id=conversation.pk,
                        body=_("%(name)s created the group “%(title)s”") % {"name": user.display_name, "title": title})
    if members:
        conversation.refresh_from_db(fields=["last_seq"])
        _join(conversation, members)
        post_system_message(conversation_id=conversation.pk,
                            body=_("%(name)s added %(people)s") % {"name": user.display_name,
                                                                   "people": _names(members)})
    return conversation


@transaction.atomic
def update_group(*, user: User, conversation_id, title: str, description: str = "", post_policy: str | None = None,
                 invite_policy: str | None = None, mention_all_policy: str | None = None, avatar=None) -> Conversation:
    membership = access_group_membership(user, conversation_id)
    _require_admin(membership, _("Only group admins can change the group's settings."))
    conversation = Conversation.objects.select_for_update().get(pk=membership.conversation_id)
    title, description = _clean_title(title), _clean_description(description)
    policies = {"post_policy": post_policy, "invite_policy": invite_policy, "mention_all_policy": mention_all_policy}
    for value in policies.values():
        if value is not None and value not in Conversation.Policy.values:
            raise InvalidInput(_("That setting has no such choice."))
    changes = []
    if title != conversation.title:
        changes.append(_("renamed the group to “%(title)s”") % {"title": title})
    if description != conversation.description:
        changes.append(_("changed the description"))
    for field, value in policies.items():
        if value is not None and value != getattr(conversation, field):
            label = Conversation._meta.get_field(field).verbose_name.lower()
            # Translators: setting and choice are lower case: set “who may post” to admins only.
            changes.append(_("set “%(setting)s” to %(choice)s")
                           % {"setting": label, "choice": Conversation.Policy(value).label.lower()})
            setattr(conversation, field, value)
    if avatar:
        _set_avatar(conversation, avatar)
        changes.append(_("changed the group picture"))
    conversation.title, conversation.description = title, description
    conversation.save()
    if changes:
        # Translators: changes is a list of what the person did: "renamed the group to “X”, changed the description".
        line = _("%(name)s %(changes)s") % {"name": user.display_name, "changes": ", ".join(changes)}
        post_system_message(conversation_id=conversation.pk, body=line)
    publish_on_commit([conversation_group(conversation.pk)], events.group_changed(conversation))
    return conversation


@transaction.atomic
def add_members(*, user: User, conversation_id, user_ids) -> list[User]:
    """Admins add people directly (no invitation to accept)."""
    membership = access_group_membership(user, conversation_id)
    _require_admin(membership, _("Only group admins can add members."))
    conversation = Conversation.objects.select_for_update().get(pk=membership.conversation_id)
    present = set(Membership.objects.filter(conversation=conversation).values_list("user_id", flat=True))
    newcomers = [u for u in _active_users(user_ids) if u.pk not in present]
    policy.check_group_add(user, newcomers)
    if not newcomers:
        raise InvalidInput(_("Those people are already in the group."))
    _check_size(conversation, len(newcomers))
    _join(conversation, newcomers)
    _members_changed(conversation)
    GroupInvitation.objects.filter(conversation=conversation, invitee__in=newcomers, status=GroupInvitation.Status.PENDING).update(
        status=GroupInvitation.Status.ACCEPTED, responded_at=timezone.now())
    post_system_message(conversation_id=conversation.pk,
                        body=_("%(name)s added %(people)s") % {"name": user.display_name, "people": _names(newcomers)})
    return newcomers


@transaction.atomic
def remove_member(*, user: User, conversation_id, member_id) -> None:
    membership = access_group_membership(user, conversation_id)
    _require_admin(membership, _("Only group admins can remove members."))
    try:
        target = Membership.objects.select_related("user").get(conversation_id=membership.conversation_id, user_id=parse_id(member_id))
    except (Membership.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("That person is not in this group.")) from None
    if target.user_id == user.pk:
        raise InvalidInput(_("To leave the group, use “Leave group”."))
    if target.role == Role.OWNER:
        raise NotAllowed(_("Nobody can remove the group's owner."))
    if target.role == Role.ADMIN and membership.role != Role.OWNER:
        raise NotAllowed(_("Only the owner can remove an admin."))
    _leave(membership.conversation, target.user_id)
    _members_changed(membership.conversation)
    post_system_message(conversation_id=membership.conversation_id,
                        body=_("%(name)s removed %(member)s") % {"name": user.display_name,
                                                                 "member": target.user.display_name})


@transaction.atomic
def set_role(*, user: User, conversation_id, member_id, role: str) -> Membership:
    """Admins make members admins and admins members; ownership moves with transfer_ownership."""
    membership = access_group_membership(user, conversation_id)
    _require_admin(membership, _("Only group admins can change roles."))
    if role not in (Role.ADMIN, Role.MEMBER):
        raise InvalidInput(_("A member can be made an admin or a member."))
    try:
        target = Membership.objects.select_related("user").get(conversation_id=membership.conversation_id, user_id=parse_id(member_id))
    except (Membership.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("That person is not in this group.")) from None
    if target.role == Role.OWNER:
        raise NotAllowed(_("The owner's role changes only by transferring ownership."))
    if target.role == Role.ADMIN and membership.role != Role.OWNER:
        raise NotAllowed(_("Only the owner can dismiss an admin."))
    if target.role == role:
        return target
    target.role = role
    target.save(update_fields=["role"])
    line = _("%(name)s made %(member)s an admin") if role == Role.ADMIN else _("%(name)s removed %(member)s as admin")
    post_system_message(conversation_id=membership.conversation_id,
                        body=line % {"name": user.display_name, "member": target.user.display_name})
    return target


@transaction.atomic
def transfer_ownership(*, user: User, conversation_id, member_id) -> None:
    membership = access_group_membership(user, conversation_id)
    if membership.role != Role.OWNER:
        raise NotAllowed(_("Only the owner can transfer ownership."))
    try:
        target = Membership.objects.select_related("user").get(conversation_id=membership.conversation_id, user_id=parse_id(member_id))
    except (Membership.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("That person is not in this group.")) from None
    if target.user_id == user.pk:
        raise InvalidInput(_("You already own this group."))
    Membership.objects.filter(pk=membership.pk).update(role=Role.ADMIN)
    Membership.objects.filter(pk=target.pk).update(role=Role.OWNER)
    post_system_message(conversation_id=membership.conversation_id,
                        body=_("%(name)s made %(member)s the owner") % {"name": user.display_name,
                                                                        "member": target.user.display_name})


@transaction.atomic
def leave_group(*, user: User, conversation_id, new_owner_id=None) -> None:
    """Leave; an owner hands the group on (to whom they name, else the oldest admin, else the
    oldest member). The last one out deletes the group."""
    membership = access_group_membership(user, conversation_id)
    conversation = membership.conversation
    others = Membership.objects.filter(conversation=conversation).exclude(pk=membership.pk).select_related("user")
    if membership.role == Role.OWNER and others.exists():
        if new_owner_id:
            heir = others.filter(user_id=require_id(new_owner_id)).first()
            if heir is None:
                raise InvalidInput(_("The new owner must be a member of the group."))
        else:
            heir = others.filter(role=Role.ADMIN).order_by("joined_at", "pk").first() or others.order_by("joined_at", "pk").first()
        Membership.objects.filter(pk=heir.pk).update(role=Role.OWNER)
        _leave(conversation, user.pk)
        _members_changed(conversation)
        post_system_message(conversation_id=conversation.pk,
                            body=_("%(name)s left; %(heir)s is the owner now") % {"name": user.display_name,
                                                                                  "heir": heir.user.display_name})
        return
    _leave(conversation, user.pk)
    if others.exists():
        _members_changed(conversation)
        post_system_message(conversation_id=conversation.pk, body=_("%(name)s left") % {"name": user.display_name})
    else:
        conversation.delete()


@transaction.atomic
def delete_group(*, user: User, conversation_id) -> None:
    membership = access_group_membership(user, conversation_id)
    if membership.role != Role.OWNER:
        raise NotAllowed(_("Only the owner can delete the group."))
    conversation = membership.conversation
    for member_id in Membership.objects.filter(conversation=conversation).values_list("user_id", flat=True):
        publish_on_commit([user_group(member_id)], message_events.conversation_left(conversation_id=conversation.pk, user_id=member_id))
    conversation.delete()


# --- invitations ---------------------------------------------------------------------------------

@transaction.atomic
def invite(*, user: User, conversation_id, invitee_id) -> GroupInvitation:
    membership = access_group_membership(user, conversation_id)
    conversation = membership.conversation
    if not membership.may(conversation.invite_policy):
        raise NotAllowed(_("Only group admins can invite people to this group."))
    ratelimit.hit("social", user.pk, SOCIAL_RATE, _("You are sending invitations too fast. Please wait a moment."))
    invitee = _active_users([invitee_id])[0]
    policy.check_group_add(user, [invitee])
    if Membership.objects.filter(conversation=conversation, user=invitee).exists():
        raise InvalidInput(_("%(name)s is already in the group.") % {"name": invitee.display_name})
    _check_size(conversation, 1)
    try:
        with transaction.atomic():
            invitation = GroupInvitation.objects.create(conversation=conversation, inviter=user, invitee=invitee)
    except IntegrityError:
        raise InvalidInput(_("%(name)s has already been invited.") % {"name": invitee.display_name}) from None
    publish_on_commit([user_group(invitee.pk)], events.invitation_changed(invitation))
    account_services.notify(recipient_id=invitee.pk, kind="group_invitation", actor=user, conversation_id=conversation.pk,
                            text=_("%(name)s invited you to the group “%(title)s”")
                            % {"name": user.display_name, "title": conversation.title}, url="/invitations/")
    return invitation


def _pending_invitation(invitation_id) -> GroupInvitation:
    """The invitation, locked after its conversation: the same order as every membership change
    (conversation first), so two of them never wait on each other."""
    try:
        conversation_id = GroupInvitation.objects.values_list("conversation_id", flat=True).get(pk=require_id(invitation_id))
    except (GroupInvitation.DoesNotExist, InvalidInput):
        raise NotFound(_("That invitation does not exist.")) from None
    Conversation.objects.select_for_update().filter(pk=conversation_id).first()
    return GroupInvitation.objects.select_related("conversation", "invitee", "inviter").select_for_update(of=("self",)).get(
        pk=require_id(invitation_id))


@transaction.atomic
def respond_to_invitation(*, user: User, invitation_id, accept: bool) -> GroupInvitation:
    invitation = _pending_invitation(invitation_id)
    if invitation.invitee_id != user.pk:
        raise NotFound(_("That invitation does not exist."))
    if invitation.status != GroupInvitation.Status.PENDING:
        # Translators: status is the invitation's state, lower case: "accepted", "declined" or "revoked".
        raise InvalidInput(_("That invitation was already %(status)s.")
                           % {"status": invitation.get_status_display().lower()})
    invitation.status = GroupInvitation.Status.ACCEPTED if accept else GroupInvitation.Status.DECLINED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
    account_services.settle_notifications(user_id=user.pk, kind="group_invitation", conversation_id=invitation.conversation_id)
    if accept:
        conversation = Conversation.objects.get(pk=invitation.conversation_id)  # locked by _pending_invitation
        _check_size(conversation, 1)
        # Joining by invitation shows the recent history: the last 20 messages count as unread.
        Membership.objects.create(conversation=conversation, user=user, role=Role.MEMBER,
                                  last_read_seq=max(conversation.last_seq - 20, 0))
        publish_on_commit([user_group(user.pk)], message_events.conversation_joined(conversation_id=conversation.pk, user_id=user.pk))
        _members_changed(conversation)
        post_system_message(conversation_id=conversation.pk, body=_("%(name)s joined") % {"name": user.display_name})
    publish_on_commit([user_group(user.pk)], events.invitation_changed(invitation))
    return invitation


@transaction.atomic
def revoke_invitation(*, user: User, invitation_id) -> GroupInvitation:
    invitation = _pending_invitation(invitation_id)
    membership = Membership.objects.filter(conversation_id=invitation.conversation_id, user=user).first()
    if membership is None:
        raise NotFound(_("That invitation does not exist."))
    if invitation.inviter_id != user.pk and not membership.is_admin:
        raise NotAllowed(_("Only the person who invited, or an admin, can revoke an invitation."))
    if invitation.status != GroupInvitation.Status.PENDING:
        # Translators: status is the invitation's state, lower case: "accepted", "declined" or "revoked".
        raise InvalidInput(_("That invitation was already %(status)s.")
                           % {"status": invitation.get_status_display().lower()})
    invitation.status = GroupInvitation.Status.REVOKED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
    publish_on_commit([user_group(invitation.invitee_id)], events.invitation_changed(invitation))
    return invitation
