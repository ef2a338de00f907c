from django.urls import path

import chatsite.ids  # noqa: F401  (registers the <id:...> path converter)

from . import views

urlpatterns = [
    path("people/<id:user_id>/", views.profile_detail, name="profile_detail"),
    path("people/<id:user_id>/avatar/", views.avatar, name="avatar"),
    path("settings/profile/", views.profile_edit, name="profile_edit"),
    path("settings/delete-account/", views.account_delete, name="account_delete"),
]

urlpatterns += [
    path("people/", views.people, name="people"),
    path("people/<id:user_id>/friend/", views.friend_request_send, name="friend_request_send"),
    path("people/<id:user_id>/unfriend/", views.unfriend, name="unfriend"),
    path("people/<id:user_id>/block/", views.block, name="block"),
    path("people/<id:user_id>/unblock/", views.unblock, name="unblock"),
    path("friend-requests/<id:request_id>/accept/", views.friend_request_answer, {"answer": "accept"}, name="friend_request_accept"),
    path("friend-requests/<id:request_id>/reject/", views.friend_request_answer, {"answer": "reject"}, name="friend_request_reject"),
    path("friend-requests/<id:request_id>/cancel/", views.friend_request_answer, {"answer": "cancel"}, name="friend_request_cancel"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<id:notification_id>/read/", views.notification_read, name="notification_read"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("settings/privacy/", views.settings_page, name="settings"),
    path("settings/api-tokens/", views.api_tokens, name="api_tokens"),
    path("settings/api-tokens/<id:token_id>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("digest/unsubscribe/<str:token>/", views.digest_unsubscribe, name="digest_unsubscribe"),
]

# Web Push: the settings switch stores and forgets this device's subscription (static/js/push.js).
urlpatterns += [
    path("settings/push/subscriptions/", views.push_subscription_add, name="push_subscription_add"),
    path("settings/push/subscriptions/remove/", views.push_subscription_remove, name="push_subscription_remove"),
]
