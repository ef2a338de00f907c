"""HTTP transport for group management. Thin: read with selectors, change with services."""

from django.contrib import messages as flash
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors as account_selectors
from chatsite.errors import InvalidInput
from chatsite.files import serve_stored_file
from chatsite.http import htmx_only, service_errors
from messaging import selectors as message_selectors
from messaging.models import Conversation
from messaging.selectors import access_message

from . import selectors, services


@service_errors
@require_http_methods(["GET", "POST"])
def group_create(request):
    context = {"title": "", "description": "", "chosen": [], "error": ""}
    if request.method == "POST":
        try:
            conversation = services.create_group(
                user=request.user, title=request.POST.get("title", ""), description=request.POST.get("description", ""),
                member_ids=request.POST.getlist("members"), avatar=request.FILES.get("avatar"),
            )
        except InvalidInput as error:
            # The people picked come back as chips: a refused form keeps everything that was chosen.
            context.update(title=request.POST.get("title", ""), description=request.POST.get("description", ""),
                           chosen=account_selectors.list_people_by_ids(request.user, request.POST.getlist("members")),
                           error=error.message)
            return render(request, "groups/group_create.html", context, status=400)
        return redirect("conversation", conversation_id=conversation.pk)
    return render(request, "groups/group_create.html", context)


@htmx_only(lambda request: reverse("group_create"))
@service_errors
@require_GET
def people_picker(request):
    """Search results with a checkbox each, for the new-group form."""
    query = message_selectors.clean_search(request.GET.get("q", ""))
    people = message_selectors.search_people(request.user, query)
    return render(request, "groups/partials/people_picker.html", {"people": people, "query": query})


@service_errors
@require_GET
def group_info(request, conversation_id: int):
    membership = selectors.access_group_membership(request.user, conversation_id)
    conversation = membership.conversation
    return render(request, "groups/group_info.html", {
        "membership": membership, "conversation": conversation,
        "members": selectors.list_members(conversation.pk),
        "invitations": selectors.list_group_invitations(conversation.pk),
        "policies": Conversation.Policy.choices,
        "can_invite": membership.may(conversation.invite_policy),
    })


@htmx_only(lambda request, conversation_id: reverse("group_info", args=[conversation_id]))
@service_errors
@require_GET
def invite_search(request, conversation_id: int):
    membership = selectors.access_group_membership(request.user, conversation_id)
    member_ids = set(membership.conversation.memberships.values_list("user_id", flat=True))
    query = message_selectors.clean_search(request.GET.get("q", ""))
    people = [p for p in message_selectors.search_people(request.user, query) if p.pk not in member_ids]
    return render(request, "groups/partials/invite_results.html", {
        "people": people, "membership": membership, "conversation": membership.conversation,
        "query": query,
    })


def _back_to_info(request, conversation_id, message=None):
    if message:
        flash.success(request, message)
    return redirect("group_info", conversation_id=conversation_id)


@service_errors
@require_POST
def group_update(request, conversation_id: int):
    services.update_group(
        user=request.user, conversation_id=conversation_id, title=request.POST.get("title", ""),
        description=request.POST.get("description", ""), post_policy=request.POST.get("post_policy"),
        invite_policy=request.POST.get("invite_policy"), mention_all_policy=request.POST.get("mention_all_policy"),
        avatar=request.FILES.get("avatar"),
    )
    return _back_to_info(request, conversation_id, _("The group's settings were saved."))


@service_errors
@require_POST
def member_add(request, conversation_id: int):
    added = services.add_members(user=request.user, conversation_id=conversation_id, user_ids=request.POST.getlist("user_id"))
    return _back_to_info(request, conversation_id,
                         _("Added %(people)s.") % {"people": ", ".join(u.display_name for u in added)})


@service_errors
@require_POST
def member_remove(request, conversation_id: int, user_id: int):
    services.remove_member(user=request.user, conversation_id=conversation_id, member_id=user_id)
    return _back_to_info(request, conversation_id, _("The member was removed."))


@service_errors
@require_POST
def member_role(request, conversation_id: int, user_id: int):
    services.set_role(user=request.user, conversation_id=conversation_id, member_id=user_id, role=request.POST.get("role", ""))
    return _back_to_info(request, conversation_id, _("The role was changed."))


@service_errors
@require_POST
def member_owner(request, conversation_id: int, user_id: int):
    services.transfer_ownership(user=request.user, conversation_id=conversation_id, member_id=user_id)
    return _back_to_info(request, conversation_id, _("Ownership was transferred."))


@service_errors
@require_POST
def group_invite(request, conversation_id: int):
    invitation = services.invite(user=request.user, conversation_id=conversation_id, invitee_id=request.POST.get("user_id"))
    return _back_to_info(request, conversation_id,
                         _("%(name)s was invited.") % {"name": invitation.invitee.display_name})


@service_errors
@require_POST
def group_leave(request, conversation_id: int):
    services.leave_group(user=request.user, conversation_id=conversation_id, new_owner_id=request.POST.get("new_owner") or None)
    flash.success(request, _("You left the group."))
    return redirect("home")


@service_errors
@require_POST
def group_delete(request, conversation_id: int):
    services.delete_group(user=request.user, conversation_id=conversation_id)
    flash.success(request, _("The group was deleted."))
    return redirect("home")


@service_errors
@require_GET
def invitations(request):
    return render(request, "groups/invitations.html", {"invitations": selectors.list_pending_invitations_for(request.user)})


@service_errors
@require_POST
def invitation_respond(request, invitation_id: int, answer: str):
    invitation = services.respond_to_invitation(user=request.user, invitation_id=invitation_id, accept=answer == "accept")
    if answer == "accept":
        return redirect("conversation", conversation_id=invitation.conversation_id)
    flash.info(request, _("You declined the invitation to %(title)s.") % {"title": invitation.conversation.title})
    return redirect("invitations")


@service_errors
@require_POST
def invitation_revoke(request, invitation_id: int):
    invitation = services.revoke_invitation(user=request.user, invitation_id=invitation_id)
    return _back_to_info(request, invitation.conversation_id, _("The invitation was revoked."))


@htmx_only(lambda request, **kw: reverse("home"))
@service_errors
@require_GET
def seen_by(request, message_id: int):
    message = access_message(request.user, message_id)
    return render(request, "groups/partials/seen_by.html", {"message": message, "readers": selectors.list_seen_by(message)})


@service_errors
@require_GET
def mentions(request):
    messages = message_selectors.list_mentions(request.user)
    return render(request, "messaging/starred.html", {
        "messages_page": messages, "starred": message_selectors.starred_ids(request.user, messages),
        "page_title": _("Mentions"), "empty_text": _("Nobody has mentioned you yet."),
        "empty_hint": _("When someone writes @your-username in a group, the message shows up here."),
    })



@service_errors
@require_GET
def group_avatar(request, conversation_id: int):
    membership = selectors.access_group_membership(request.user, conversation_id)
    return serve_stored_file(membership.conversation.avatar.name, content_type="image/png", max_age=300)
