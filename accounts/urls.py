from django.urls import path

from . import views

urlpatterns = [
    path("people/<int:user_id>/", views.profile_detail, name="profile_detail"),
    path("people/<int:user_id>/avatar/", views.avatar, name="avatar"),
    path("settings/profile/", views.profile_edit, name="profile_edit"),
    path("settings/delete-account/", views.account_delete, name="account_delete"),
]
