from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self):
        from accounts import policy

        from . import (
            frames,  # noqa: F401 (registers the app's socket frames)
            selectors,
        )

        # accounts decides who sees whose presence but knows nothing of conversations: messaging
        # answers its "do these two share a conversation?".
        policy.register_shares_conversation(selectors.shares_conversation)
