"""What every admin page of ours shares."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """A list and a detail page that change nothing: chat data changes only through the services
    (admin actions call them), so the admin never bypasses a rule, an event or a file deletion."""

    show_full_result_count = False  # no second COUNT(*) over a big table on every list page

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
