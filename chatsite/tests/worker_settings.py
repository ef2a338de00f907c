"""Settings of a real worker (or `make run` stack) started by a test as a subprocess: the test
settings, on the test's own database, with the production task path (the database backend, enqueues
that wait for the commit) and email through SMTP to the test's server (or the console)."""

import os

from chatsite.test_settings import *  # noqa: F403
from chatsite.test_settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["TEST_WORKER_DB_NAME"]
if os.environ.get("TASKS_BACKEND") == "rq":
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
TASKS_ON_COMMIT = True
EMAIL_BACKEND = "chatsite.mail.TaskEmailBackend"
if os.environ.get("TEST_SMTP_PORT"):
    EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = "127.0.0.1"
    EMAIL_PORT = int(os.environ["TEST_SMTP_PORT"])
    EMAIL_USE_TLS = EMAIL_USE_SSL = False
    EMAIL_TIMEOUT = 10
else:
    EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.console.EmailBackend"
