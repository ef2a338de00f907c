"""Every change to people and their relations: profile, friends, blocks, presence, notifications."""

from . import presence
from .friends import (
    block_user,
    cancel_friend_request,
    respond_to_friend_request,
    send_friend_request,
    unblock_user,
    unfriend,
)
from .notifications import (
    mark_all_notifications_read,
    mark_conversation_notifications_read,
    mark_notification_read,
    notify,
    notify_many,
    notify_new_messages,
    settle_notifications,
)
from .profile import (
    delete_account,
    end_live_sessions,
    make_avatar,
    recheck_live_sessions,
    update_profile,
    update_settings,
)

__all__ = [
    "block_user", "cancel_friend_request", "delete_account", "end_live_sessions", "make_avatar",
    "mark_all_notifications_read", "mark_conversation_notifications_read", "mark_notification_read", "notify",
    "notify_many", "notify_new_messages", "presence", "recheck_live_sessions", "respond_to_friend_request", "send_friend_request", "unblock_user",
    "settle_notifications", "unfriend", "update_profile", "update_settings",
]
