from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Operators may close sign-up (ACCOUNT_ALLOW_SIGNUP=0) for a private server.
        return settings.ACCOUNT_ALLOW_SIGNUP

    def send_mail(self, template_prefix, email, context):
        # Emails carry the operator's site name rather than the bare host name.
        context = {**context, "site_name": settings.SITE_NAME}
        return super().send_mail(template_prefix, email, context)
