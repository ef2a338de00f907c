from django import forms
from django.conf import settings
from django.core.validators import MinLengthValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chatsite.forms import CleanCharField

from .models import ApiToken, User


class SignupExtraForm(forms.Form):
    """The names allauth's sign-up form does not ask for; allauth calls ``signup`` after saving.

    allauth's sign-up form subclasses this one, so ``required_note`` reaches the template too.
    """

    # A display name is all others need; the last name is there for those who want it.
    first_name = CleanCharField(max_length=150, label=gettext_lazy("Display name"),
                                help_text=gettext_lazy("How others see you, e.g. Ana."),
                                widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = CleanCharField(max_length=150, required=False, label=gettext_lazy("Last name"),
                               widget=forms.TextInput(attrs={"autocomplete": "family-name"}))
    required_note = True

    field_order = ["email", "username", "first_name", "last_name", "password1", "password2"]

    def signup(self, request, user):
        user.first_name = self.cleaned_data["first_name"]
        user.last_name = self.cleaned_data["last_name"]
        user.save(update_fields=["first_name", "last_name"])


class ProfileForm(forms.ModelForm):
    avatar = forms.ImageField(
        required=False,
        label=gettext_lazy("Avatar"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}),
    )

    class Meta:
        model = User
        fields = ["first_name", "last_name", "username", "about"]
        field_classes = dict.fromkeys(fields, CleanCharField)
        widgets = {"about": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"username": gettext_lazy("Letters, digits and @/./+/-/_ only. Others find you by it.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The size comes from the settings: the sentence is made per form, not at import.
        self.fields["avatar"].help_text = (_("JPEG, PNG, GIF or WebP, at most %(size)s MB. It is cropped to a square.")
                                           % {"size": settings.AVATAR_MAX_BYTES // (1024 * 1024)})

    def clean_username(self):
        from allauth.account import app_settings as account_settings
        from allauth.account.adapter import get_adapter

        username = self.cleaned_data["username"]
        if username == self.instance.username:
            return username
        # allauth's rules: the same as at sign-up (length, characters, blacklist, uniqueness
        # ignoring case). Only other accounts count as taken: "alice" may become "Alice".
        MinLengthValidator(account_settings.USERNAME_MIN_LENGTH)(username)
        adapter = get_adapter()
        username = adapter.clean_username(username, shallow=True)
        if User.objects.filter(username__iexact=username).exclude(pk=self.instance.pk).exists():
            raise adapter.validation_error("username_taken")
        return username


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Your password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        required=False,
    )
    confirm = forms.CharField(label=gettext_lazy("Type your username to confirm"), required=True)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if not user.has_usable_password():
            del self.fields["password"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("confirm") and cleaned["confirm"] != self.user.username:
            self.add_error("confirm", _("That is not your username."))
        if "password" in self.fields and not self.user.check_password(cleaned.get("password") or ""):
            self.add_error("password", _("Your password is not correct."))
        return cleaned


class SettingsForm(forms.ModelForm):
    # Push notifications (accounts/push.py): quiet hours are in this time zone.
    time_zone = forms.ChoiceField(label=gettext_lazy("Time zone"), required=False,
                                  help_text=gettext_lazy("Quiet hours are in this time zone."))

    class Meta:
        model = User
        fields = ["direct_messages_from", "hide_last_seen", "email_digest", "push_private_previews",
                  "quiet_hours_start", "quiet_hours_end", "time_zone"]
        widgets = {"direct_messages_from": forms.RadioSelect,
                   "quiet_hours_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "quiet_hours_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}
        help_texts = {"quiet_hours_end": gettext_lazy("No push notifications between these times (leave empty for none).")}

    def __init__(self, *args, **kwargs):
        import zoneinfo

        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [("", _("The server's (%(zone)s)") % {"zone": settings.TIME_ZONE})] + [
            (zone, zone) for zone in sorted(zoneinfo.available_timezones())]

    def clean(self):
        data = super().clean()
        if bool(data.get("quiet_hours_start")) != bool(data.get("quiet_hours_end")):
            self.add_error("quiet_hours_end", _("Give both times of your quiet hours, or neither."))
        return data


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=80,
                           help_text=gettext_lazy("What uses it, e.g. “Deploy bot” or “My phone app”."))
    scope = forms.ChoiceField(label=gettext_lazy("Access"), choices=ApiToken.Scope.choices, initial=ApiToken.Scope.WRITE,
                              widget=forms.RadioSelect)
    expires_in_days = forms.TypedChoiceField(
        label=gettext_lazy("Expires"), coerce=int, empty_value=None, initial="90", required=False,
        choices=[("30", gettext_lazy("In 30 days")), ("90", gettext_lazy("In 90 days")),
                 ("365", gettext_lazy("In a year")), ("", gettext_lazy("Never (until revoked)"))])
