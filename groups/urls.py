from django.urls import path

import chatsite.ids  # noqa: F401  (registers the <id:...> path converter)

from . import views

urlpatterns = [
    path("groups/new/", views.group_create, name="group_create"),
    path("groups/new/people/", views.people_picker, name="group_people_picker"),
    path("g/<id:conversation_id>/", views.group_info, name="group_info"),
    path("g/<id:conversation_id>/avatar/", views.group_avatar, name="group_avatar"),
    path("g/<id:conversation_id>/settings/", views.group_update, name="group_update"),
    path("g/<id:conversation_id>/people/", views.invite_search, name="group_invite_search"),
    path("g/<id:conversation_id>/members/add/", views.member_add, name="group_member_add"),
    path("g/<id:conversation_id>/members/<id:user_id>/remove/", views.member_remove, name="group_member_remove"),
    path("g/<id:conversation_id>/members/<id:user_id>/role/", views.member_role, name="group_member_role"),
    path("g/<id:conversation_id>/members/<id:user_id>/owner/", views.member_owner, name="group_member_owner"),
    path("g/<id:conversation_id>/invite/", views.group_invite, name="group_invite"),
    path("g/<id:conversation_id>/leave/", views.group_leave, name="group_leave"),
    path("g/<id:conversation_id>/delete/", views.group_delete, name="group_delete"),
    path("invitations/", views.invitations, name="invitations"),
    path("invitations/<id:invitation_id>/accept/", views.invitation_respond, {"answer": "accept"}, name="invitation_accept"),
    path("invitations/<id:invitation_id>/decline/", views.invitation_respond, {"answer": "decline"}, name="invitation_decline"),
    path("invitations/<id:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("m/<id:message_id>/seen-by/", views.seen_by, name="seen_by"),
    path("mentions/", views.mentions, name="mentions"),
]
