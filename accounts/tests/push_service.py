"""A Web Push service on 127.0.0.1 for the tests: it checks each push's VAPID JWT (ES256 signature
with the key in the header, aud, exp, sub) and decrypts its aes128gcm body with the private key of
the device the test made, as a browser's push service and the browser would.

    service = PushService(); service.start()
    device = service.device("phone")       # keys as a browser makes them; device.subscription
    service.answers["phone"] = [500, 201]  # what the next pushes to it get (201 once these run out)
    service.received                       # [(device name, decrypted JSON)]
"""

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Device:
    name: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def subscription(self) -> dict:
        """What the browser's PushSubscription.toJSON() gives the page."""
        public = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                            serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}


@dataclass
class PushService:
    subject: str = "mailto:noreply@localhost"
    server_key: str = ""  # the application server key the pushes must be signed with (base64url)
    devices: dict[str, Device] = field(default_factory=dict)
    answers: dict[str, list[int]] = field(default_factory=dict)
    received: list[tuple[str, dict]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (device, why) for bad pushes

    def start(self) -> "PushService":
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                name = self.path.rsplit("/", 1)[-1]
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = service._take(name, self.headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def device(self, name: str) -> Device:
        device = Device(name, f"{self.origin}/push/{name}", ec.generate_private_key(ec.SECP256R1()), os.urandom(16))
        self.devices[name] = device
        return device

    def messages(self, name: str) -> list[dict]:
        return [data for device, data in self.received if device == name]

    def _take(self, name: str, headers, body: bytes) -> int:
        device = self.devices.get(name)
        if device is None:
            return 404
        why = self._bad_vapid(headers)
        if why:
            self.refused.append((name, why))
            return 403
        if headers.get("Content-Encoding") != "aes128gcm" or not headers.get("TTL"):
            self.refused.append((name, "not aes128gcm with a TTL"))
            return 400
        queued = self.answers.get(name) or []
        status = queued.pop(0) if queued else 201
        if status < 300:
            plain = http_ece.decrypt(body, private_key=device.private_key, auth_secret=device.auth, version="aes128gcm")
            self.received.append((name, json.loads(plain)))
        return status

    def _bad_vapid(self, headers) -> str:
        scheme, _, params = (headers.get("Authorization") or "").partition(" ")
        if scheme != "vapid":
            return "no vapid Authorization"
        parts = dict(p.strip().split("=", 1) for p in params.split(","))
        if self.server_key and parts.get("k") != self.server_key:
            return "signed with another key"
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
        try:
            claims = jwt.decode(parts["t"], key=public, algorithms=["ES256"], audience=self.origin,
                                options={"require": ["aud", "exp", "sub"]})
        except jwt.PyJWTError as error:
            return f"bad JWT: {error}"
        if claims["sub"] != self.subject:
            return f"sub is {claims['sub']!r}"
        if claims["exp"] > time.time() + 24 * 3600:  # RFC 8292: no more than 24 hours ahead
            return "exp too far ahead"
        return ""
