from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self):
        from accounts import policy

        from . import (
            frames,  # noqa: F401 (registers the app's socket frames)
            selectors,
            webhooks,  # noqa: F401 (its publish tap hands chats' events to their bots' webhooks)
        )

        # accounts decides who sees whose presence but knows nothing of conversations: messaging
        # answers its "do these two share a conversation?".
        policy.register_shares_conversation(selectors.shares_conversation)

        from accounts.signals import account_deleted

        from . import uploads  # noqa: F401 (its post_delete handler removes an attachment's files)

        account_deleted.connect(lambda sender, user_id, **kw: uploads.delete_uploads_of(user_id=user_id),
                                dispatch_uid="messaging-account-files", weak=False)

        from django.db.models.signals import post_migrate

        from .search import ensure_sqlite_triggers

        post_migrate.connect(lambda sender, using="default", **kw: ensure_sqlite_triggers(using),
                             sender=self, weak=False, dispatch_uid="messaging-search-triggers")
