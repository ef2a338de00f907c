from django.conf import settings


def site(request):
    return {"SITE_NAME": settings.SITE_NAME,
            # The installable app's colours and how often a tab renews "visible" (accounts/push.py).
            "APP_THEME_COLOR": settings.APP_THEME_COLOR, "APP_THEME_COLOR_DARK": settings.APP_THEME_COLOR_DARK,
            "PUSH_PRESENCE_TTL_SECONDS": settings.PUSH_PRESENCE_TTL_SECONDS}
