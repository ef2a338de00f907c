"""Test overrides on top of the one settings module (which still reads the environment, so the
suite runs against PostgreSQL + Redis when DATABASE_URL / REDIS_URL are set)."""

from .settings import *  # noqa: F403
from .settings import VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
# Tests serve static files straight from the source folders: no collectstatic needed.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
    STORAGES["default"] = {**STORAGES["default"], "OPTIONS": {"location": str(VAR_DIR / "test-media")}}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Tasks run eagerly, in the test's thread, as they are enqueued; emails go through the task
# (chatsite/mail.py) to the locmem outbox that tests read. The `db` fixture's transaction never
# commits, so the suite does not wait for commits (TASKS_ON_COMMIT): chatsite/tests/test_tasks.py
# checks the waiting, and chatsite/tests/test_worker.py runs the real worker on the real backend.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
TASKS_ON_COMMIT = False
EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Django's test set-up replaces EMAIL_BACKEND with locmem; conftest.py puts this back.
EMAIL_BACKEND = "chatsite.mail.TaskEmailBackend"

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    import os

    # One file per test run, so two runs on one machine (a developer and an editor helper) never
    # share, and lock, one test database. pytest-django deletes it at the end.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}  # noqa: F405

# Test modules import chatsite.asgi before pytest-django allows the database (the start-up check
# has tests of its own, in a subprocess with the real settings).
STARTUP_CHECKS = False

# Every event the suite publishes and every reply a socket sends is checked against the protocol.
PROTOCOL_CHECKS = True

# Redis PubSub channels are shared by every database number of a server: a run of its own prefix,
# so two test runs on one Redis (a developer and CI, or two workers) never hear each other's events.
if CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis"):  # noqa: F405
    import os

    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"chat-test-{os.getpid()}"  # noqa: F405
