from allauth.account.admin import EmailConfirmationAdmin
from allauth.account.models import EmailConfirmation
from allauth.mfa.admin import AuthenticatorAdmin
from allauth.mfa.models import Authenticator
from allauth.socialaccount.admin import SocialAppAdmin, SocialTokenAdmin
from allauth.socialaccount.models import SocialApp, SocialToken
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy, ngettext

from chatsite.admin_tools import ReadOnlyAdmin

from .models import Block, FriendRequest, Friendship, Notification, PushSubscription, User
from .services.profile import deactivate_user


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff", "last_seen", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser", "date_joined", "last_seen")
    search_fields = ("username", "email", "first_name", "last_name")
    ordering = ("-date_joined",)
    # The password section shows whether a password is set and links to the change form, never the
    # hash (Django's default shows its algorithm, salt and hash prefix).
    fieldsets = ((None, {"fields": ("username", "password_set")}),) + BaseUserAdmin.fieldsets[1:] + (
        (gettext_lazy("Profile"), {"fields": ("avatar", "about", "last_seen")}),)
    readonly_fields = ("last_seen", "password_set")
    actions = ["deactivate"]

    @admin.display(description=gettext_lazy("Password"))
    def password_set(self, user: User) -> str:
        return gettext_lazy("Set") if user.has_usable_password() else gettext_lazy("Not set (signs in by code, passkey or a social account)")

    def save_model(self, request, obj, form, change):
        was_active = change and User.objects.filter(pk=obj.pk, is_active=True).exists()
        super().save_model(request, obj, form, change)
        if was_active and not obj.is_active:
            deactivate_user(user_id=obj.pk)  # closes their sockets at once

    @admin.action(description=gettext_lazy("Deactivate the selected people (signs them out everywhere)"))
    def deactivate(self, request, queryset):
        count = 0
        for user in queryset.filter(is_active=True).exclude(pk=request.user.pk):
            deactivate_user(user_id=user.pk)
            count += 1
        self.message_user(request, ngettext("%(count)d person deactivated.", "%(count)d people deactivated.", count)
                          % {"count": count}, messages.SUCCESS)


@admin.register(Friendship)
class FriendshipAdmin(ReadOnlyAdmin):
    list_display = ("user_a", "user_b", "created_at")
    list_select_related = ("user_a", "user_b")
    search_fields = ("user_a__username", "user_b__username")
    date_hierarchy = "created_at"


@admin.register(FriendRequest)
class FriendRequestAdmin(ReadOnlyAdmin):
    list_display = ("from_user", "to_user", "status", "created_at", "responded_at")
    list_select_related = ("from_user", "to_user")
    list_filter = ("status", "created_at")
    search_fields = ("from_user__username", "to_user__username")
    exclude = ("note",)  # a private note between two people


@admin.register(Block)
class BlockAdmin(ReadOnlyAdmin):
    list_display = ("blocker", "blocked", "created_at")
    list_select_related = ("blocker", "blocked")
    search_fields = ("blocker__username", "blocked__username")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    # The text quotes private messages and notes: only who, what kind and when.
    list_display = ("recipient", "kind", "actor", "count", "updated_at", "read_at")
    list_select_related = ("recipient", "actor")
    list_filter = ("kind", "read_at", "updated_at")
    search_fields = ("recipient__username", "actor__username")
    fields = ("recipient", "kind", "actor", "count", "created_at", "updated_at", "read_at")


# allauth's own admin pages, without the secrets they show by default.
admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class SafeAuthenticatorAdmin(AuthenticatorAdmin):
    # ``data`` holds the TOTP secret, the recovery codes' seed and the passkey's credential.
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")
    list_filter = ("type",)
    exclude = ("data",)
    readonly_fields = ("user", "type", "created_at", "last_used_at")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.unregister(SocialToken)


@admin.register(SocialToken)
class SafeSocialTokenAdmin(SocialTokenAdmin):
    list_display = ("app", "account", "expires_at")
    list_select_related = ("app", "account__user")
    exclude = ("token", "token_secret")


admin.site.unregister(SocialApp)


@admin.register(SocialApp)
class SafeSocialAppAdmin(SocialAppAdmin):
    # The client secret comes from the environment (README); the admin never shows it.
    exclude = ("secret",)


if admin.site.is_registered(EmailConfirmation):
    admin.site.unregister(EmailConfirmation)

    @admin.register(EmailConfirmation)
    class SafeEmailConfirmationAdmin(EmailConfirmationAdmin):
        list_display = ("email_address", "created", "sent")
        list_select_related = ("email_address__user",)
        exclude = ("key",)


@admin.register(PushSubscription)
class PushSubscriptionAdmin(ReadOnlyAdmin):
    """Each person's devices with push notifications on. Deleting one (a lost phone) stops its
    pushes at once; the person can turn it on again from that device."""
    list_display = ("user", "user_agent", "push_service", "created_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")
    date_hierarchy = "created_at"
    fields = ("user", "user_agent", "push_service", "created_at", "last_used_at")

    @admin.display(description=gettext_lazy("Push service"))
    def push_service(self, subscription: PushSubscription) -> str:
        from urllib.parse import urlsplit

        return urlsplit(subscription.endpoint).hostname or ""

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("accounts.delete_pushsubscription")
