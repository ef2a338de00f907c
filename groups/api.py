"""The API's groups: creating one, its members and their roles, invitations. Thin: groups'
services and selectors do the work (the same calls as the group pages)."""

from datetime import datetime
from typing import Literal

from ninja import Field, Router, Schema, Status

from accounts.api import PersonOut, person_out
from chatsite.apikit import ERRORS, responses
from messaging.api import ConversationDetailOut, conversation_detail_out

from . import selectors, services

router = Router(tags=["groups"])


class GroupIn(Schema):
    title: str
    description: str = ""
    member_ids: list[int] = Field([], description="People added at once (the same rules as adding them later)")


Policy = Literal["everyone", "admins"]


class GroupSettingsIn(Schema):
    """Only the fields sent change."""
    title: str | None = None
    description: str | None = None
    post_policy: Policy | None = Field(None, description="Who may post")
    invite_policy: Policy | None = Field(None, description="Who may invite")
    mention_all_policy: Policy | None = Field(None, description="Who may mention @all")


class OwnerIn(Schema):
    user_id: int


class MemberOut(Schema):
    user: PersonOut
    role: str  # owner | admin | member
    joined_at: datetime


class AddMembersIn(Schema):
    user_ids: list[int]


class RoleIn(Schema):
    role: Literal["admin", "member"] = Field(..., description="Ownership moves with POST /groups/{id}/owner")


class LeaveIn(Schema):
    new_owner_id: int | None = Field(None, description="An owner's heir (else the oldest admin, else the oldest member)")


class InviteIn(Schema):
    user_id: int


class GroupBrief(Schema):
    id: int
    title: str


class InvitationOut(Schema):
    id: int
    group: GroupBrief
    inviter: PersonOut | None
    invitee: PersonOut
    status: str  # pending | accepted | declined | revoked
    created_at: datetime


def member_out(membership) -> dict:
    return {"user": person_out(membership.user), "role": membership.role, "joined_at": membership.joined_at}


def invitation_out(invitation) -> dict:
    return {"id": invitation.pk, "group": {"id": invitation.conversation_id, "title": invitation.conversation.title},
            "inviter": person_out(invitation.inviter) if invitation.inviter else None,
            "invitee": person_out(invitation.invitee), "status": invitation.status,
            "created_at": invitation.created_at}


@router.post("/groups", response={201: ConversationDetailOut, **ERRORS}, summary="Create a group")
def create_group(request, data: GroupIn):
    group = services.create_group(user=request.user, title=data.title, description=data.description,
                                  member_ids=data.member_ids)
    return Status(201, conversation_detail_out(request.user, group.pk))


@router.patch("/groups/{conversation_id}", response=responses(ConversationDetailOut),
              summary="Change a group's settings (admins)")
def update_group(request, conversation_id: int, changes: GroupSettingsIn):
    group = selectors.access_group_membership(request.user, conversation_id).conversation
    services.update_group(user=request.user, conversation_id=group.pk,
                          title=group.title if changes.title is None else changes.title,
                          description=group.description if changes.description is None else changes.description,
                          post_policy=changes.post_policy, invite_policy=changes.invite_policy,
                          mention_all_policy=changes.mention_all_policy)
    return conversation_detail_out(request.user, group.pk)


@router.delete("/groups/{conversation_id}", response={204: None, **ERRORS}, summary="Delete a group (its owner)")
def delete_group(request, conversation_id: int):
    services.delete_group(user=request.user, conversation_id=conversation_id)
    return Status(204, None)


@router.post("/groups/{conversation_id}/owner", response={204: None, **ERRORS},
             summary="Hand the group to another member (its owner)", description="The owner becomes an admin.")
def transfer_ownership(request, conversation_id: int, data: OwnerIn):
    services.transfer_ownership(user=request.user, conversation_id=conversation_id, member_id=data.user_id)
    return Status(204, None)


@router.get("/groups/{conversation_id}/members", response=responses(list[MemberOut]), summary="A group's members",
            description="Owner first, then admins, then members.")
def list_members(request, conversation_id: int):
    membership = selectors.access_group_membership(request.user, conversation_id)
    return [member_out(m) for m in selectors.list_members(membership.conversation_id)]


@router.post("/groups/{conversation_id}/members", response={201: list[MemberOut], **ERRORS},
             summary="Add people (admins)", description="Added at once, without an invitation to accept.")
def add_members(request, conversation_id: int, data: AddMembersIn):
    added = {u.pk for u in services.add_members(user=request.user, conversation_id=conversation_id,
                                                 user_ids=data.user_ids)}
    membership = selectors.access_group_membership(request.user, conversation_id)
    return Status(201, [member_out(m) for m in selectors.list_members(membership.conversation_id)
                        if m.user_id in added])


@router.delete("/groups/{conversation_id}/members/{user_id}", response={204: None, **ERRORS},
               summary="Remove a member (admins)")
def remove_member(request, conversation_id: int, user_id: int):
    services.remove_member(user=request.user, conversation_id=conversation_id, member_id=user_id)
    return Status(204, None)


@router.patch("/groups/{conversation_id}/members/{user_id}", response=responses(MemberOut),
              summary="Change a member's role (admins)")
def set_role(request, conversation_id: int, user_id: int, data: RoleIn):
    changed = services.set_role(user=request.user, conversation_id=conversation_id, member_id=user_id, role=data.role)
    return member_out(changed)


@router.post("/groups/{conversation_id}/leave", response={204: None, **ERRORS}, summary="Leave a group",
             description="The last one out deletes the group.")
def leave(request, conversation_id: int, data: LeaveIn):
    services.leave_group(user=request.user, conversation_id=conversation_id, new_owner_id=data.new_owner_id)
    return Status(204, None)


@router.get("/groups/{conversation_id}/invitations", response=responses(list[InvitationOut]),
            summary="A group's pending invitations")
def group_invitations(request, conversation_id: int):
    membership = selectors.access_group_membership(request.user, conversation_id)
    return [invitation_out(i) for i in selectors.list_group_invitations(membership.conversation_id)]


@router.post("/groups/{conversation_id}/invitations", response={201: InvitationOut, **ERRORS}, summary="Invite someone",
             description="Who may invite follows the group's setting (admins only by default).")
def invite(request, conversation_id: int, data: InviteIn):
    invitation = services.invite(user=request.user, conversation_id=conversation_id, invitee_id=data.user_id)
    return Status(201, invitation_out(invitation))


@router.get("/invitations", response=responses(list[InvitationOut]), summary="Invitations waiting for me")
def my_invitations(request):
    return [invitation_out(i) for i in selectors.list_pending_invitations_for(request.user)]


@router.post("/invitations/{invitation_id}/accept", response=responses(InvitationOut), summary="Accept an invitation")
def accept(request, invitation_id: int):
    return invitation_out(services.respond_to_invitation(user=request.user, invitation_id=invitation_id, accept=True))


@router.post("/invitations/{invitation_id}/decline", response=responses(InvitationOut), summary="Decline an invitation")
def decline(request, invitation_id: int):
    return invitation_out(services.respond_to_invitation(user=request.user, invitation_id=invitation_id, accept=False))


@router.post("/invitations/{invitation_id}/revoke", response=responses(InvitationOut),
             summary="Revoke an invitation (who sent it, or an admin)")
def revoke(request, invitation_id: int):
    return invitation_out(services.revoke_invitation(user=request.user, invitation_id=invitation_id))
