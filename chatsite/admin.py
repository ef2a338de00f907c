"""The task queue in the admin: failed tasks with their error, a "retry" action, and the queue's
depth and oldest waiting task's age above the list (chatsite.tasks.get_queue_stats)."""

import json

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult, get_date_max

from .models import TaskKey, WorkerBeat
from .tasks import META, get_queue_stats

admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class TaskResultAdmin(DBTaskResultAdmin):
    list_display = ("task_name", "status", "error", "attempts", "enqueued_at", "finished_at", "request_id")
    list_display_links = ("task_name",)
    list_filter = ("status", "queue_name", "task_path")
    search_fields = ("id", "task_path", "exception_class_path")
    actions = ["retry"]

    @admin.display(description=_("error"))
    def error(self, obj: DBTaskResult) -> str:
        # The exception's class and its message: the traceback's last line.
        return obj.traceback.strip().rsplit("\n", 1)[-1] if obj.traceback else ""

    @admin.display(description=_("attempts"))
    def attempts(self, obj: DBTaskResult) -> int:
        meta = (obj.args_kwargs.get("kwargs") or {}).get(META) or {}
        return meta.get("attempt", len(obj.worker_ids))

    @admin.display(description=_("request id"))
    def request_id(self, obj: DBTaskResult) -> str:
        meta = (obj.args_kwargs.get("kwargs") or {}).get(META) or {}
        return meta.get("request_id") or ""

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        fields = super().get_readonly_fields(request, obj)
        return [("arguments" if name == "args_kwargs" else name) for name in fields]

    @admin.display(description=_("arguments"))
    def arguments(self, obj: DBTaskResult) -> str:
        """The task's arguments, less those it declares private (an email's body holds codes)."""
        try:
            private = set(getattr(obj.task, "private_args", ()))
        except ImportError:  # a task that no longer exists: show nothing rather than guess
            return _("(hidden: the task no longer exists)")
        kwargs = {name: (_("(hidden)") if name in private else value)
                  for name, value in (obj.args_kwargs.get("kwargs") or {}).items()}
        return format_html("<pre>{}</pre>", json.dumps({"args": obj.args_kwargs.get("args", []), "kwargs": kwargs},
                                                      indent=2, default=str))

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("django_tasks_database.change_dbtaskresult")

    @admin.action(description=_("Retry the selected failed tasks"), permissions=["retry"])
    def retry(self, request, queryset) -> None:
        retried = 0
        for row in queryset.filter(status="FAILED"):
            kwargs = row.args_kwargs.get("kwargs") or {}
            if META in kwargs:  # a fresh set of attempts
                kwargs[META] = {**kwargs[META], "attempt": 1}
            retried += DBTaskResult.objects.filter(id=row.id, status="FAILED").update(
                status="READY", run_after=get_date_max(), started_at=None, finished_at=None,
                args_kwargs={**row.args_kwargs, "kwargs": kwargs})
        self.message_user(request, ngettext("%(count)d task queued again.", "%(count)d tasks queued again.",
                                            retried) % {"count": retried}, messages.SUCCESS)

    def changelist_view(self, request, extra_context=None):
        stats = get_queue_stats()
        context = {"queue_stats": stats, "oldest_wait": _wait(stats.oldest_age) if stats.oldest_age is not None else None}
        return super().changelist_view(request, {**(extra_context or {}), **context})


def _wait(age) -> str:
    seconds = int(age.total_seconds())
    if seconds < 120:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    return timesince(timezone.now() - age)


@admin.register(WorkerBeat)
class WorkerBeatAdmin(admin.ModelAdmin):
    list_display = ("worker_id", "hostname", "pid", "started_at", "seen_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(TaskKey)
class TaskKeyAdmin(admin.ModelAdmin):
    list_display = ("key", "created_at")
    search_fields = ("key",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False
