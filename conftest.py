"""Shared fixtures and factories for every app's tests."""

import itertools
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache

from accounts.models import User

PASSWORD = "correct horse battery 42"
_counter = itertools.count(1)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request, django_db_modify_db_settings):
    """Remove a stale SQLite write-ahead log before the test database is created.

    A run that ended while a thread (a WebSocket consumer, the browser tests' live server) still held
    a connection leaves ``-wal``/``-shm`` beside the deleted test database. Django deletes only the
    database file before the next run, and SQLite replays the old log into the new, empty file:
    "table ... already exists". With --reuse-db the log may hold the kept database's data: keep it.
    """
    if request.config.getvalue("reuse_db") and not request.config.getvalue("create_db"):
        return
    from django.db import connections

    for connection in connections.all(initialized_only=False):
        name = str(connection.settings_dict.get("TEST", {}).get("NAME") or "")
        if connection.vendor == "sqlite" and name and not connection.creation.is_in_memory_db(name):
            for suffix in ("-wal", "-shm"):
                Path(name + suffix).unlink(missing_ok=True)


@pytest.fixture(scope="session", autouse=True)
def _email_through_tasks(django_test_environment):
    """Django's test environment swaps EMAIL_BACKEND for locmem: put the site's own back, so every
    email a test sends goes through the task queue (eager here) to the locmem outbox."""
    from django.conf import settings

    settings.EMAIL_BACKEND = "chatsite.mail.TaskEmailBackend"


@pytest.fixture(autouse=True)
def _protocol_kept():
    """Every event and reply a test makes is declared in chatsite/protocol.py (PROTOCOL_CHECKS):
    a violation raised inside a socket's handler is also recorded, and fails the test here."""
    from chatsite import protocol

    protocol.violations.clear()
    yield
    assert not protocol.violations, protocol.violations


@pytest.fixture(autouse=True)
def _clean_cache():
    # Rate limits and presence live in the cache (and the sockets' frame limits in memory): every
    # test starts from nothing.
    from chatsite.realtime import frame_limiter

    frame_limiter.reset()
    cache.clear()
    yield
    cache.clear()


def make_user(username: str | None = None, *, password: str = PASSWORD, verified: bool = True, **extra) -> User:
    """A user who can sign in: primary email address recorded with allauth, verified by default."""
    n = next(_counter)
    username = username or f"user{n}"
    email = extra.pop("email", f"{username}@example.com")
    user = User.objects.create_user(
        username=username,
        email=email,
        password=password,
        first_name=extra.pop("first_name", username.capitalize()),
        last_name=extra.pop("last_name", "Tester"),
        **extra,
    )
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=verified)
    return user


@pytest.fixture
def user_factory(db):
    return make_user


@pytest.fixture
def alice(db):
    return make_user("alice", first_name="Alice", last_name="Archer")


@pytest.fixture
def bob(db):
    return make_user("bob", first_name="Bob", last_name="Baker")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def direct(alice, bob):
    """The direct chat of alice and bob."""
    from messaging import services

    return services.get_or_create_direct_conversation(user=alice, other_id=bob.pk)


@pytest.fixture
def send(direct):
    from messaging import services

    def _send(user, body="hello", conversation=None, **kwargs):
        return services.send_message(user=user, conversation_id=(conversation or direct).pk, body=body, **kwargs).message

    return _send


def pytest_terminal_summary(terminalreporter):
    """The fuzz tests' counts (requests or frames sent, by answer), printed at the end of the run;
    they travel in the test reports' user properties, so this works under xdist too."""
    lines = [value for reports in terminalreporter.stats.values() for report in reports
             for key, value in getattr(report, "user_properties", ()) if key == "fuzz_counts"]
    if lines:
        terminalreporter.section("fuzz counts")
        for line in sorted(set(lines)):
            terminalreporter.write_line(line)


# --- S3, served by moto on 127.0.0.1 (no network beyond it) -------------------------------------

@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's S3 in server mode, on a free port of 127.0.0.1, for the whole run."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{server._server.server_port}"
    server.stop()


@pytest.fixture
def s3_storage(moto_endpoint, settings, monkeypatch):
    """Default storage on a fresh private bucket of the moto server, configured as chatsite/settings.py
    does when AWS_STORAGE_BUCKET_NAME is set (the page's CSP admitting the bucket included)."""
    import uuid

    import boto3
    from django.core.files.storage import default_storage

    from chatsite.s3 import admit_bucket, bucket_origins

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    bucket = f"chat-test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    options = {"bucket_name": bucket, "region_name": "us-east-1", "endpoint_url": moto_endpoint,
               "access_key": "testing", "secret_key": "testing", "default_acl": "private", "querystring_auth": True,
               "querystring_expire": 300, "file_overwrite": False, "signature_version": "s3v4"}
    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}}
    settings.CONTENT_SECURITY_POLICY = admit_bucket(settings.CONTENT_SECURITY_POLICY, bucket_origins(bucket, options))
    yield default_storage


# --- The AI assistant's endpoint, faked on 127.0.0.1 (messaging/tests/fake_openai.py) -------------

@pytest.fixture(scope="session")
def _fake_openai_server():
    from messaging.tests.fake_openai import FakeOpenAI

    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def fake_openai(_fake_openai_server, settings):
    """The fake chat-completions server, with the assistant pointed at it (settings overridden for
    this test, the browser tests' live server included: it runs in this process)."""
    _fake_openai_server.reset()
    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_BASE_URL = _fake_openai_server.base_url
    settings.OPENAI_MODEL = "fake-model"
    yield _fake_openai_server
    _fake_openai_server.reset()


# --- The HTTP API (/api/v1/), called with a personal access token ---------------------------------

class ApiCaller:
    """A Django test client that calls /api/v1/ with ``Authorization: Bearer <token>`` and JSON
    bodies: ``api.post("/conversations/1/messages", {"body": "hi"})``. No token: anonymous."""

    def __init__(self, secret: str | None):
        from django.test import Client

        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}

    def _call(self, method: str, path: str, data=None, **extra):
        url = path if path.startswith("/api/") else f"/api/v1{path}"
        if method == "get":
            return self.client.get(url, data, **self.headers, **extra)
        if "files" in extra:  # multipart
            return getattr(self.client, method)(url, {**(data or {}), **extra.pop("files")}, **self.headers, **extra)
        body = {} if data is None else data
        return getattr(self.client, method)(url, body, content_type="application/json", **self.headers, **extra)

    def get(self, path, params=None, **extra):
        return self._call("get", path, params, **extra)

    def post(self, path, data=None, **extra):
        return self._call("post", path, data, **extra)

    def put(self, path, data=None, **extra):
        return self._call("put", path, data, **extra)

    def patch(self, path, data=None, **extra):
        return self._call("patch", path, data, **extra)

    def delete(self, path, data=None, **extra):
        return self._call("delete", path, data, **extra)


@pytest.fixture
def api_as(db):
    """``api_as(user)``: an ApiCaller with a new write token of ``user`` (``scope="read"`` for a
    read-only one; ``api_as(None)`` calls without a token)."""
    from accounts.services import tokens

    def _api_as(user, scope: str = "write") -> ApiCaller:
        if user is None:
            return ApiCaller(None)
        return ApiCaller(tokens.create_api_token(user=user, name=f"test {scope}", scope=scope).secret)

    return _api_as


# --- Webhooks (messaging/webhooks.py) ----------------------------------------------------------

@pytest.fixture(autouse=True)
def _webhook_flag_forgotten():
    """The process's "is any webhook active?" flag lives for a few seconds: a test whose webhooks
    were flushed with its database must not leave the next test believing one exists."""
    from messaging import webhooks

    webhooks._flag["until"] = 0.0
    yield
    webhooks._flag["until"] = 0.0
