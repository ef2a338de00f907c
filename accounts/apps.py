from django.apps import AppConfig


def close_sockets_of_session(sender, request, user, **kwargs):
    from . import services

    if request is not None and request.session.session_key:
        services.end_live_sessions(session_key=request.session.session_key)


def recheck_sockets_of_user(sender, request=None, user=None, **kwargs):
    """After a password change, reset or set, every open socket of the user reconnects: the
    reconnect re-checks the session, so sessions signed in with the old password are refused."""
    from . import services

    if user is not None:
        services.recheck_live_sessions(user_id=user.pk)


def close_sockets_of_deactivated(sender, instance, update_fields=None, **kwargs):
    from . import services

    if not instance.is_active:
        services.end_live_sessions(user_id=instance.pk)


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from allauth.account.signals import password_changed, password_reset, password_set
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import post_save

        from chatsite.ws_auth import register_api_authenticator

        from . import frames  # noqa: F401 (registers the app's socket frames)
        from .services.tokens import authenticate_socket

        # API clients' sockets sign in with a bearer token or a ticket (chatsite.ws_auth).
        register_api_authenticator(authenticate_socket)

        # Signing out closes this browser session's WebSockets at once.
        user_logged_out.connect(close_sockets_of_session, dispatch_uid="accounts.close_sockets_of_session")
        for signal in (password_changed, password_reset, password_set):
            signal.connect(recheck_sockets_of_user, dispatch_uid=f"accounts.recheck_sockets.{id(signal)}")
        post_save.connect(close_sockets_of_deactivated, sender=self.get_model("User"),
                          dispatch_uid="accounts.close_sockets_of_deactivated")
