from allauth.socialaccount import views as social_views
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from accounts import views as account_views
from messaging.dashboard import dashboard

from . import pwa, views
from .api import api_urls

admin.site.site_header = admin.site.site_title = f"{settings.SITE_NAME} administration"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("admin/dashboard/", admin.site.admin_view(dashboard), name="admin_dashboard"),
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("offline/", pwa.offline, name="offline"),
    # allauth leaves its "social login failed" page to signed-in people only; the people who land
    # there are signed out (the sign-in just failed). Listed before allauth's own URLs to win.
    path("accounts/3rdparty/login/error/", login_not_required(social_views.login_error),
         name="socialaccount_login_error"),
    path("accounts/", include("allauth.urls")),
    # The app sign-in API (allauth headless, JWT tokens) and the HTTP API (docs/api.md).
    path("_allauth/", include("allauth.headless.urls")),
    path("api/v1/", api_urls()),
    path("", include("accounts.urls")),
    path("", include("messaging.urls")),
    path("", include("groups.urls")),
    path("", include("calls.urls")),
]
