"""The health probes operators and load balancers rely on."""

import socket

import pytest
from django.db.utils import ConnectionHandler

from chatsite import health


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_answers_without_sign_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)
def test_readyz_names_every_check_with_its_latency(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) >= {"database", "cache", "channel_layer", "tasks"}
    assert body["checks"]["tasks"]["depth"] == 0 and body["checks"]["tasks"]["oldest_waiting_seconds"] is None
    for check in body["checks"].values():
        assert check["status"] == "ok"
        assert check["latency_ms"] >= 0


@pytest.mark.django_db(transaction=True)
def test_readyz_fails_naming_the_database_when_it_is_unreachable(client, monkeypatch):
    # A PostgreSQL server at a closed port, whatever the suite's own database is.
    monkeypatch.setattr(health, "connections", ConnectionHandler({"default": {
        "ENGINE": "django.db.backends.postgresql", "HOST": "127.0.0.1", "PORT": closed_port(),
        "NAME": "chat", "USER": "postgres", "OPTIONS": {"connect_timeout": 2},
    }}))

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"]["status"] == "fail"
    assert "OperationalError" in body["checks"]["database"]["error"]
    assert body["checks"]["cache"]["status"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_readyz_fails_naming_the_cache_when_redis_is_unreachable(client, monkeypatch, settings):
    settings.CACHES = {**settings.CACHES, "unreachable": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
    }}
    monkeypatch.setattr(health, "CACHE_ALIAS", "unreachable")

    response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["cache"]["status"] == "fail"
    assert "ConnectionError" in checks["cache"]["error"]
    assert checks["database"]["status"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_readyz_fails_naming_the_channel_layer_when_redis_is_unreachable(client, settings):
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [f"redis://127.0.0.1:{closed_port()}/0"]},
    }}

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"]["status"] == "fail"


@pytest.mark.django_db(transaction=True)
def test_a_hung_dependency_fails_within_the_timeout(client, monkeypatch, settings):
    import asyncio

    settings.HEALTH_CHECK_TIMEOUT = 0.2

    async def hangs():
        await asyncio.Event().wait()

    monkeypatch.setitem(health._checks, "search_index", hangs)

    response = client.get("/readyz")

    assert response.status_code == 503
    check = response.json()["checks"]["search_index"]
    assert check == {"status": "fail", "error": "no answer within 0.2 s", "latency_ms": check["latency_ms"]}



def test_the_server_refuses_to_start_without_its_database_naming_the_setting(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/chat",
           "DJANGO_SETTINGS_MODULE": "chatsite.settings", "HEALTH_CHECK_TIMEOUT": "3"}
    env.pop("REDIS_URL", None)
    started = subprocess.run([sys.executable, "-c", "import chatsite.asgi"], env=env, capture_output=True,
                             text=True, timeout=60)

    assert started.returncode != 0
    last_line = started.stderr.strip().splitlines()[-1]
    assert "Cannot start. The database is unreachable" in last_line
    assert "check DATABASE_URL." in last_line


def test_the_server_refuses_to_start_without_its_redis_naming_the_setting():
    import os
    import subprocess
    import sys

    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0", "DJANGO_SETTINGS_MODULE": "chatsite.settings"}
    env.pop("DATABASE_URL", None)
    started = subprocess.run([sys.executable, "-c", "import chatsite.asgi"], env=env, capture_output=True,
                             text=True, timeout=60)

    assert started.returncode != 0
    assert "The cache is unreachable" in started.stderr and "check REDIS_URL." in started.stderr


@pytest.mark.django_db(transaction=True)
def test_readyz_shows_the_task_queue_depth_and_the_oldest_waiting_age(client, settings):
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from chatsite.tests import worker_tasks

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    worker_tasks.flaky.enqueue(name="waiting", failures=0)
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(minutes=5))

    tasks = client.get("/readyz").json()["checks"]["tasks"]

    assert tasks["status"] == "ok" and tasks["depth"] == 1
    assert 290 < tasks["oldest_waiting_seconds"] < 400


@pytest.mark.django_db(transaction=True)
def test_readyz_checks_the_bucket_and_names_it_when_it_is_missing(client, s3_storage, settings):
    storage = client.get("/readyz").json()["checks"]["storage"]
    assert (storage["status"], storage["backend"]) == ("ok", "s3")

    settings.STORAGES = {**settings.STORAGES, "default": {**settings.STORAGES["default"], "OPTIONS": {
        **settings.STORAGES["default"]["OPTIONS"], "bucket_name": "no-such-bucket"}}}
    response = client.get("/readyz")

    assert response.status_code == 503
    storage = response.json()["checks"]["storage"]
    assert storage["status"] == "fail" and "404" in storage["error"]
