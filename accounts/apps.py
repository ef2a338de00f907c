from django.apps import AppConfig


def close_sockets_of_session(sender, request, user, **kwargs):
    from . import services

    if request is not None and request.session.session_key:
        services.end_live_sessions(session_key=request.session.session_key)


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_out

        # Signing out closes this browser session's WebSockets at once.
        user_logged_out.connect(close_sockets_of_session, dispatch_uid="accounts.close_sockets_of_session")
