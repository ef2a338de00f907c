from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"

    def ready(self):
        from . import frames  # noqa: F401 (registers the app's socket frames)
