from django.urls import path

from . import views

urlpatterns = [
    path("chats/", views.conversation_list, name="conversation_list"),
    path("chats/new/", views.new_chat, name="new_chat"),
    path("chats/direct/<int:user_id>/", views.start_direct, name="start_direct"),
    path("starred/", views.starred, name="starred"),
    path("c/<int:conversation_id>/", views.conversation_detail, name="conversation"),
    path("c/<int:conversation_id>/messages/", views.message_page, name="message_page"),
    path("c/<int:conversation_id>/send/", views.send, name="send_message"),
    path("c/<int:conversation_id>/read/", views.mark_read, name="mark_read"),
    path("c/<int:conversation_id>/flags/", views.set_flags, name="conversation_flags"),
    path("c/<int:conversation_id>/entry/", views.conversation_entry, name="conversation_entry"),
    path("m/<int:message_id>/", views.message_detail, name="message_detail"),
    path("files/<int:attachment_id>/", views.attachment, name="attachment"),
    path("m/<int:message_id>/edit/", views.edit, name="edit_message"),
    path("m/<int:message_id>/delete/", views.delete, name="delete_message"),
    path("m/<int:message_id>/react/", views.react, name="react_message"),
    path("m/<int:message_id>/star/", views.star, name="star_message"),
]
