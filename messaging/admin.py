"""Chats in the admin: who, what kind and when, never what was said.

Private chats are not browsable without cause: no page here shows a message's text, a file's
name or contents, a chat's history or who is in a chat (Membership has no admin page; a chat shows
its number of members). (Reading a reported chat goes through the moderation queue,
which records who looked.)
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy

from chatsite.admin_tools import ReadOnlyAdmin
from chatsite.errors import ServiceError

from . import assistant, moderation
from .models import (
    AssistantUsage,
    Attachment,
    AuditEntry,
    Conversation,
    IncomingWebhook,
    Mention,
    Message,
    Reaction,
    Report,
    Star,
    Webhook,
)


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "kind", "member_count", "last_seq", "created_by", "created_at", "last_activity_at")
    list_select_related = ("created_by",)
    list_filter = ("kind", "created_at", "last_activity_at")
    search_fields = ("title",)
    fields = ("kind", "title", "description", "created_by", "last_seq", "post_policy", "invite_policy",
              "mention_all_policy", "created_at", "last_activity_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_total=Count("memberships"))

    @admin.display(description=gettext_lazy("Members"), ordering="member_total")
    def member_count(self, conversation) -> int:
        return conversation.member_total


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
    list_display = ("id", "uploader", "kind", "status", "content_type", "size", "created_at")
    list_select_related = ("uploader",)
    list_filter = ("kind", "status", "created_at")
    search_fields = ("uploader__username",)
    fields = ("uploader", "kind", "status", "content_type", "size", "width", "height", "duration_ms", "created_at")
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


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """The moderation queue. A report's page shows the reported message with the chat around it
    (recorded in the audit log) and the actions a moderator can take."""

    list_display = ("id", "status", "reason", "target", "reporter", "reported_user", "created_at", "handled_by")
    list_select_related = ("reporter", "reported_user", "handled_by", "message")
    list_filter = ("status", "reason", "outcome", "created_at")
    search_fields = ("reporter__username", "reported_user__username")
    ordering = ("status", "-created_at")
    show_full_result_count = False

    @admin.display(description=gettext_lazy("Reported"))
    def target(self, report) -> str:
        return gettext_lazy("A message") if report.message_id else gettext_lazy("A person")

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_change_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._act(request, object_id)
        try:
            chat = moderation.open_reported_chat(moderator=request.user, report_id=object_id)
        except ServiceError as error:
            self.message_user(request, error.message, messages.ERROR)
            return redirect("admin:messaging_report_changelist")
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "chat": chat,
                   "report": chat.report, "outcomes": Report.Outcome, "title": str(chat.report)}
        return TemplateResponse(request, "admin/messaging/report/review.html", context)

    def _act(self, request, object_id):
        decision, note = request.POST.get("decision", ""), request.POST.get("note", "")
        try:
            if decision == "dismiss":
                moderation.dismiss_report(moderator=request.user, report_id=object_id, note=note)
            else:
                moderation.resolve_report(moderator=request.user, report_id=object_id, outcome=decision, note=note)
        except ServiceError as error:
            self.message_user(request, error.message, messages.ERROR)
            return redirect("admin:messaging_report_change", object_id)
        self.message_user(request, gettext_lazy("The report is closed."), messages.SUCCESS)
        return redirect("admin:messaging_report_changelist")


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "action", "report", "conversation", "target_user", "detail")
    list_select_related = ("actor", "report", "conversation", "target_user")
    list_filter = ("action", "created_at")
    search_fields = ("actor__username", "target_user__username")
    date_hierarchy = "created_at"


@admin.register(AssistantUsage)
class AssistantUsageAdmin(ReadOnlyAdmin):
    """What each person's assistant questions cost per month; "Reset" lets them ask again at once."""

    list_display = ("user", "month", "requests", "prompt_tokens", "completion_tokens", "total", "updated_at")
    list_select_related = ("user",)
    list_filter = ("month",)
    search_fields = ("user__username", "user__email")
    ordering = ("-month", "user__username")
    actions = ["reset_usage"]

    @admin.display(description=gettext_lazy("Tokens"))
    def total(self, usage) -> int:
        return usage.total_tokens

    @admin.action(description=gettext_lazy("Reset the selected usage to zero"), permissions=["reset"])
    def reset_usage(self, request, queryset):
        count = assistant.reset_usage(usage_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, gettext_lazy("Usage reset for %(count)s row(s).") % {"count": count},
                          messages.SUCCESS)

    def has_reset_permission(self, request):
        return request.user.is_superuser or request.user.has_perm("messaging.change_assistantusage")


# --- Bots' webhooks (messaging/webhooks.py): seen, never their secrets ------------------------------

@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "url", "active", "failures", "last_success_at", "disabled_at", "created_at")
    list_select_related = ("user",)
    list_filter = ("active", "created_at")
    search_fields = ("user__username", "url")
    fields = ("user", "url", "active", "failures", "last_error", "last_success_at", "disabled_at", "created_at")
    readonly_fields = fields


@admin.register(IncomingWebhook)
class IncomingWebhookAdmin(ReadOnlyAdmin):
    list_display = ("name", "conversation", "creator", "prefix", "last_used_at", "revoked_at", "created_at")
    list_select_related = ("conversation", "creator")
    list_filter = ("created_at", "revoked_at")
    search_fields = ("creator__username", "name")
    fields = ("name", "conversation", "creator", "prefix", "last_used_at", "revoked_at", "created_at")
    readonly_fields = fields
