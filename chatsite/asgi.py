"""ASGI entry point: HTTP through Django, WebSockets at /ws/ through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from chatsite.checks import raise_for_bad_settings  # noqa: E402

raise_for_bad_settings()  # uvicorn runs no system checks: a bad setting stops the start here

from chatsite.startup import raise_for_unreachable_services  # noqa: E402

raise_for_unreachable_services()  # nor does it connect before the first request

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chatsite.routing import websocket_urlpatterns  # noqa: E402
from chatsite.ws_auth import SameOriginValidator, SessionAuthMiddlewareStack  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(SessionAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
