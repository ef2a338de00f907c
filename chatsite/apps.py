from django.apps import AppConfig


class ChatsiteConfig(AppConfig):
    """The project package as an app: its system checks, and the task queue's bookkeeping (models.py)."""

    name = "chatsite"

    def ready(self):
        from django.core import checks

        from .checks import TAG, check_settings

        checks.register(check_settings, TAG)
