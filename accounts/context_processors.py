"""The bell's count for the app shell (templates/layouts/app.html)."""

from django.utils.functional import SimpleLazyObject

from . import selectors


def notifications(request):
    def count() -> int:
        user = getattr(request, "user", None)
        return selectors.count_unread_notifications(user.pk) if user and user.is_authenticated else 0

    # Lazy: only pages that show the bell pay for the count.
    return {"unread_notifications": SimpleLazyObject(count)}
