from django.urls import path

import chatsite.ids  # noqa: F401  (registers the <id:...> path converter)

from . import hook_views, report_views, views

urlpatterns = [
    path("chats/", views.conversation_list, name="conversation_list"),
    path("chats/new/", views.new_chat, name="new_chat"),
    path("chats/direct/<id:user_id>/", views.start_direct, name="start_direct"),
    path("starred/", views.starred, name="starred"),
    path("assistant/", views.assistant_chat, name="assistant_chat"),
    path("c/<id:conversation_id>/summarise/", views.summarise, name="summarise_unread"),
    path("search/", views.search, name="search_messages"),
    path("c/<id:conversation_id>/", views.conversation_detail, name="conversation"),
    path("c/<id:conversation_id>/messages/", views.message_page, name="message_page"),
    path("c/<id:conversation_id>/send/", views.send, name="send_message"),
    path("c/<id:conversation_id>/read/", views.mark_read, name="mark_read"),
    path("c/<id:conversation_id>/flags/", views.set_flags, name="conversation_flags"),
    path("c/<id:conversation_id>/gallery/", views.gallery, name="gallery"),
    path("c/<id:conversation_id>/entry/", views.conversation_entry, name="conversation_entry"),
    path("m/<id:message_id>/", views.message_detail, name="message_detail"),
    path("files/<id:attachment_id>/", views.attachment, name="attachment"),
    path("uploads/", views.upload, name="upload"),
    path("uploads/start/", views.upload_start, name="upload_start"),
    path("uploads/<id:attachment_id>/finish/", views.upload_finish, name="upload_finish"),
    path("uploads/<id:attachment_id>/cancel/", views.upload_cancel, name="upload_cancel"),
    path("m/<id:message_id>/edit/", views.edit, name="edit_message"),
    path("m/<id:message_id>/delete/", views.delete, name="delete_message"),
    path("m/<id:message_id>/react/", views.react, name="react_message"),
    path("m/<id:message_id>/star/", views.star, name="star_message"),
    path("m/<id:message_id>/report/", report_views.report_message, name="report_message"),
    path("people/<id:user_id>/report/", report_views.report_person, name="report_person"),
    path("c/<id:conversation_id>/hooks/", hook_views.incoming_hooks, name="incoming_hooks"),
    path("c/<id:conversation_id>/hooks/<id:hook_id>/revoke/", hook_views.revoke_incoming_hook,
         name="revoke_incoming_hook"),
    path("hooks/<str:secret>", hook_views.incoming_hook, name="incoming_hook"),
]
