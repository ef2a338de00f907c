from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff", "last_seen", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser", "date_joined", "last_seen")
    search_fields = ("username", "email", "first_name", "last_name")
    ordering = ("-date_joined",)
    fieldsets = BaseUserAdmin.fieldsets + ((gettext_lazy("Profile"), {"fields": ("avatar", "about", "last_seen")}),)
    readonly_fields = ("last_seen",)
