from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self):
        from . import frames  # noqa: F401 (registers the app's socket frames)
