"""The sidebar's conversation list for the app shell (templates/layouts/app.html)."""

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from . import selectors


def sidebar(request):
    def entries() -> list:
        user = getattr(request, "user", None)
        return selectors.list_conversations(user) if user and user.is_authenticated else []

    # Lazy: partials and pages without the sidebar never list the conversations.
    return {"sidebar_entries": SimpleLazyObject(entries), "assistant_name": settings.ASSISTANT_NAME}
