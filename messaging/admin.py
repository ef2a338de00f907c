"""Chats in the admin: who, what kind and when, never what was said.

Private chats are not browsable without cause: no page here shows a message's text, a file's
name or contents, or a chat's history. (Reading a reported chat goes through the moderation queue,
which records who looked.)
"""

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy

from chatsite.admin_tools import ReadOnlyAdmin

from .models import Attachment, Conversation, Membership, Mention, Message, Reaction, Star


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role", "joined_at", "muted")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "kind", "member_count", "last_seq", "created_by", "created_at", "last_activity_at")
    list_select_related = ("created_by",)
    list_filter = ("kind", "created_at", "last_activity_at")
    search_fields = ("title",)
    fields = ("kind", "title", "description", "created_by", "last_seq", "post_policy", "invite_policy",
              "mention_all_policy", "created_at", "last_activity_at")
    readonly_fields = fields
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_total=Count("memberships"))

    @admin.display(description=gettext_lazy("Members"), ordering="member_total")
    def member_count(self, conversation) -> int:
        return conversation.member_total


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("user", "conversation", "role", "joined_at", "pinned", "muted", "last_read_seq")
    list_select_related = ("user", "conversation")
    list_filter = ("role", "muted", "joined_at")
    search_fields = ("user__username", "conversation__title")
    raw_id_fields = ("user", "conversation")


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "conversation", "seq", "sender", "kind", "created_at", "edited_at", "deleted_at")
    list_select_related = ("conversation", "sender")
    list_filter = ("kind", "created_at")
    search_fields = ("sender__username",)
    fields = ("conversation", "seq", "sender", "kind", "created_at", "edited_at", "deleted_at")
    readonly_fields = fields


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ("id", "uploader", "kind", "content_type", "size", "created_at")
    list_select_related = ("uploader",)
    list_filter = ("kind", "created_at")
    search_fields = ("uploader__username",)
    fields = ("uploader", "kind", "content_type", "size", "width", "height", "created_at")
    readonly_fields = fields


@admin.register(Reaction)
class ReactionAdmin(ReadOnlyAdmin):
    list_display = ("emoji", "user", "message", "created_at")
    list_select_related = ("user", "message__conversation")
    search_fields = ("user__username",)
    raw_id_fields = ("user", "message")


@admin.register(Star)
class StarAdmin(ReadOnlyAdmin):
    list_display = ("user", "message")
    list_select_related = ("user", "message__conversation")
    search_fields = ("user__username",)
    raw_id_fields = ("user", "message")


@admin.register(Mention)
class MentionAdmin(ReadOnlyAdmin):
    list_display = ("user", "message")
    list_select_related = ("user", "message__conversation")
    search_fields = ("user__username",)
    raw_id_fields = ("user", "message")
