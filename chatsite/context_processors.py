from django.conf import settings


def site(request):
    return {"SITE_NAME": settings.SITE_NAME,
            # How often a tab renews "this device is looking" for Web Push (accounts/push.py).
            "PUSH_PRESENCE_TTL_SECONDS": settings.PUSH_PRESENCE_TTL_SECONDS}
