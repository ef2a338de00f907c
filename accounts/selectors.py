from django.shortcuts import get_object_or_404

from .models import User


def get_active_user(user_id: int) -> User:
    """A person another signed-in user may look at: active accounts only."""
    return get_object_or_404(User, pk=user_id, is_active=True)
