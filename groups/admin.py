from django.contrib import admin

from chatsite.admin_tools import ReadOnlyAdmin

from .models import GroupInvitation


@admin.register(GroupInvitation)
class GroupInvitationAdmin(ReadOnlyAdmin):
    list_display = ("conversation", "inviter", "invitee", "status", "created_at", "responded_at")
    list_select_related = ("conversation", "inviter", "invitee")
    list_filter = ("status", "created_at")
    search_fields = ("invitee__username", "inviter__username", "conversation__title")
