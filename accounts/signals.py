"""Signals of the accounts app, for the apps above it (which accounts never imports)."""

from django.dispatch import Signal

# Sent inside delete_account's transaction, with ``user_id``: each app removes what the person owns
# (messaging: the files they uploaded).
account_deleted = Signal()
