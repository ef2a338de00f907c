"""The sidebar's invitations badge (messaging/partials/conversation_list.html)."""

from django.utils.functional import SimpleLazyObject

from . import selectors


def invitations(request):
    def count() -> int:
        user = getattr(request, "user", None)
        return selectors.count_pending_invitations(user.pk) if user and user.is_authenticated else 0

    # Lazy: only pages that show the sidebar's links pay for the count.
    return {"pending_invitations": SimpleLazyObject(count)}
