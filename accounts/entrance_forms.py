"""Our versions of allauth's entrance forms (ACCOUNT_FORMS).

Kept apart from accounts.forms: allauth imports accounts.forms (ACCOUNT_SIGNUP_FORM_CLASS) while
it builds its own forms, so that module must not import allauth's forms.
"""

from allauth.account.forms import LoginForm as AllauthLoginForm


class LoginForm(AllauthLoginForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        login = self.fields["login"]
        if "placeholder" in login.widget.attrs:
            # allauth labels the field "Login" and says what it takes in the placeholder only,
            # which disappears as soon as one types: the label says it ("Username or email").
            login.label = login.widget.attrs.pop("placeholder")
            # Password managers file the sign-in name under "username" whichever it is.
            login.widget.attrs["autocomplete"] = "username"
