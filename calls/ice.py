"""The ICE servers a browser's peer connections use: ICE_SERVERS as configured, plus, with
TURN_SECRET set, a TURN server with a password of this person's own that expires (the TURN REST
API scheme coturn implements with ``use-auth-secret``: username "<expiry>:<user id>", password the
base64 HMAC-SHA1 of the username under the shared secret). A leaked password stops working by
itself, and no password is stored anywhere."""

import base64
import hashlib
import hmac
import time

from django.conf import settings


def turn_credentials(user_id: int, *, now: float | None = None) -> dict:
    expiry = int(now if now is not None else time.time()) + settings.TURN_TTL_SECONDS
    username = f"{expiry}:{user_id}"
    digest = hmac.new(settings.TURN_SECRET.encode(), username.encode(), hashlib.sha1).digest()
    return {"urls": list(settings.TURN_URLS), "username": username, "credential": base64.b64encode(digest).decode()}


def ice_servers_for(user_id: int) -> list[dict]:
    servers = list(settings.ICE_SERVERS)
    if settings.TURN_SECRET and settings.TURN_URLS:
        servers.append(turn_credentials(user_id))
    return servers
