from django.contrib import admin

from .models import Call, CallParticipant


class ParticipantInline(admin.TabularInline):
    model = CallParticipant
    extra = 0
    can_delete = False
    readonly_fields = ("user", "status", "joined_at", "left_at", "disconnected_at")
    exclude = ("connection",)


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    """The call log, read-only: calls change through calls.services only."""
    list_display = ("id", "conversation", "kind", "status", "initiator", "started_at", "ended_at")
    list_filter = ("status", "kind")
    date_hierarchy = "started_at"
    readonly_fields = ("conversation", "kind", "initiator", "status", "started_at", "answered_at", "ended_at", "version")
    inlines = [ParticipantInline]

    def has_add_permission(self, request):
        return False
