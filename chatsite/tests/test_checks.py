"""A bad setting fails at start with its check id and a hint, not at the first request that reads it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from chatsite.checks import TAG, raise_for_bad_settings
from chatsite.ratelimit import parse_rate

ROOT = Path(__file__).resolve().parents[2]
TURN = {"urls": "turn:turn.example.com:3478", "username": "u", "credential": "p"}


def _ids() -> list[str]:
    return [message.id for message in run_checks(tags=[TAG])]


@pytest.mark.parametrize("rate, parsed", [("30/10s", (30, 10)), ("5/m", (5, 60)), ("100/h", (100, 3600)),
                                          ("1/d", (1, 86400)), ("1000000/s", (1000000, 1))])
def test_rates_parse(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["30 per 10s", "0/s", "30/10x", "30/0s", "30/", "/s", "30", " 30/s", "-1/s",
                                  "30/10s/key", "", None, 30, ["30/s"]])
def test_bad_rates_raise_a_clear_value_error(rate):
    with pytest.raises(ValueError, match="is not a rate"):
        parse_rate(rate)


def test_the_defaults_pass():
    assert _ids() == []
    call_command("check")


@pytest.mark.parametrize("setting, value, error_id", [
    ("MESSAGE_RATE_LIMIT", "30 per 10s", "chatsite.E001"),
    ("MESSAGE_RATE_LIMIT", "0/s", "chatsite.E001"),
    ("MESSAGE_RATE_LIMIT", "30/10x", "chatsite.E001"),
    ("MESSAGE_MAX_LENGTH", 0, "chatsite.E002"),
    ("MESSAGE_MAX_LENGTH", "4000", "chatsite.E002"),
    ("GROUP_MAX_MEMBERS", -3, "chatsite.E003"),
    ("GROUP_MAX_MEMBERS", True, "chatsite.E003"),
    ("DIGEST_AFTER_MINUTES", 0, "chatsite.E004"),
    ("DIGEST_AFTER_MINUTES", 1.5, "chatsite.E004"),
    ("SOCKET_DATABASE_THREADS", 0, "chatsite.E005"),
    ("ICE_SERVERS", {"urls": "stun:stun.example.com"}, "chatsite.E006"),
    ("ICE_SERVERS", ["stun:stun.example.com"], "chatsite.E006"),
    ("ICE_SERVERS", [{"url": "stun:stun.example.com"}], "chatsite.E006"),
    ("ICE_SERVERS", [{"urls": []}], "chatsite.E006"),
    ("ICE_SERVERS", [{"urls": "https://stun.example.com"}], "chatsite.E006"),
    ("ICE_SERVERS", [{"urls": ["turn:turn.example.com"]}], "chatsite.E006"),  # no credentials
    ("SITE_URL", "chat.example.com", "chatsite.E007"),
    ("SITE_URL", "ftp://chat.example.com", "chatsite.E007"),
    ("SITE_URL", "https://", "chatsite.E007"),
    ("SITE_URL", "https://[::1", "chatsite.E007"),
    ("SITE_URL", "https://chat.example.com/?x=1", "chatsite.E007"),
    ("SITE_URL", None, "chatsite.E007"),
    ("SOCKET_MAX_PER_USER", 0, "chatsite.E008"),
    ("SOCKET_INBOX_SIZE", 2, "chatsite.E009"),
    ("SOCKET_FRAME_MAX_BYTES", 100, "chatsite.E010"),
    ("TASKS_BACKEND", "celery", "chatsite.E012"),
    ("TASKS_RETRY_BACKOFF_SECONDS", -1, "chatsite.E013"),
    ("TASKS_RETRY_BACKOFF_SECONDS", float("nan"), "chatsite.E013"),
    ("TASKS_WORKER_TIMEOUT", 1, "chatsite.E014"),
    ("TASKS_PRUNE_AFTER_DAYS", 0, "chatsite.E015"),
    ("TASKS_PRUNE_EVERY_MINUTES", -1, "chatsite.E016"),
    ("DIGEST_EVERY_MINUTES", "hourly", "chatsite.E017"),
    ("ASSISTANT_RATE_LIMIT", "ten a minute", "chatsite.E032"),
    ("ASSISTANT_CONTEXT_TOKENS", 10, "chatsite.E033"),
    ("ASSISTANT_MONTHLY_TOKENS", -1, "chatsite.E034"),
    ("ASSISTANT_TIMEOUT_SECONDS", 0, "chatsite.E035"),
    ("OPENAI_BASE_URL", "localhost:11434", "chatsite.E036"),
    ("OPENAI_BASE_URL", "http://", "chatsite.E036"),
    ("ASSISTANT_NAME", " ", "chatsite.E037"),
    ("ASSISTANT_NAME", "x" * 41, "chatsite.E037"),
    # Bots: API sockets and webhooks.
    ("SOCKET_TICKET_SECONDS", 0, "chatsite.E050"),
    ("SOCKET_TICKET_SECONDS", 3600, "chatsite.E050"),
    ("WEBHOOK_MAX_FAILURES", 0, "chatsite.E051"),
    ("WEBHOOK_TIMEOUT_SECONDS", 0, "chatsite.E052"),
    ("INCOMING_WEBHOOK_RATE_LIMIT", "lots", "chatsite.E053"),
])
def test_each_bad_setting_gives_its_error(setting, value, error_id):
    with override_settings(**{setting: value}):
        assert _ids() == [error_id]
        with pytest.raises(SystemCheckError, match=error_id):
            call_command("check")
        with pytest.raises(ImproperlyConfigured, match=error_id):
            raise_for_bad_settings()


@pytest.mark.parametrize("setting, value", [
    ("ICE_SERVERS", []),
    ("ICE_SERVERS", [{"urls": ["stun:stun.example.com:3478", "stuns:stun.example.com"]}, TURN]),
    ("ICE_SERVERS", ({"urls": "stun:[2001:db8::1]:3478"},)),
    ("SITE_URL", "https://example.com/chat/"),
    ("SITE_URL", "http://127.0.0.1:8000"),
    ("MESSAGE_RATE_LIMIT", "1/h"),
    ("SOCKET_DATABASE_THREADS", 1),
    ("OPENAI_BASE_URL", None),
    ("OPENAI_BASE_URL", "http://localhost:11434/v1"),
    ("ASSISTANT_MONTHLY_TOKENS", 0),
])
def test_good_values_pass(setting, value):
    with override_settings(**{setting: value}):
        assert _ids() == []


def test_the_rq_backend_needs_redis():
    with override_settings(TASKS_BACKEND="rq", REDIS_URL=""):
        assert _ids() == ["chatsite.E012"]
    with override_settings(TASKS_BACKEND="rq", REDIS_URL="redis://127.0.0.1:6379/0"):
        assert _ids() == []


def test_the_rq_backend_is_chosen_by_a_setting(tmp_path):
    shown = _start("-c", "import django; django.setup(); from django.conf import settings; "
                   "print(settings.TASKS['default']['BACKEND'], 'django_rq' in settings.INSTALLED_APPS)",
                   TASKS_BACKEND="rq", REDIS_URL="redis://127.0.0.1:6379/15", VAR_DIR=str(tmp_path))
    assert shown.stdout.split() == ["django_tasks_rq.RQBackend", "True"], shown.stderr
    default = _start("-c", "import django; django.setup(); from django.conf import settings; "
                     "print(settings.TASKS['default']['BACKEND'], settings.EMAIL_BACKEND, settings.EMAIL_DELIVERY_BACKEND)",
                     VAR_DIR=str(tmp_path))
    assert default.stdout.split() == ["django_tasks_db.DatabaseBackend", "chatsite.mail.TaskEmailBackend",
                                      "django.core.mail.backends.console.EmailBackend"], default.stderr


def test_a_missing_setting_is_reported(settings):
    del settings.DIGEST_AFTER_MINUTES
    assert _ids() == ["chatsite.E004"]


def test_check_tells_the_operator_which_setting_and_what_fits():
    with override_settings(MESSAGE_RATE_LIMIT="30 per 10s"), pytest.raises(SystemCheckError) as failure:
        call_command("check")
    text = str(failure.value)
    assert "MESSAGE_RATE_LIMIT" in text and "'30 per 10s'" in text and 'e.g. "30/10s"' in text


def _start(*args, **environ) -> subprocess.CompletedProcess:
    # The operator's path: environment -> chatsite.settings (not the test settings) -> the checks.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatsite.settings", **environ}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_a_malformed_rate_in_the_environment_stops_check_and_the_asgi_server(tmp_path):
    bad = {"MESSAGE_RATE_LIMIT": "30 per 10s", "VAR_DIR": str(tmp_path)}
    check = _start("manage.py", "check", **bad)
    assert check.returncode != 0 and "chatsite.E001" in check.stderr
    server = _start("-c", "import chatsite.asgi", **bad)
    assert server.returncode != 0 and "ImproperlyConfigured: chatsite.E001" in server.stderr
    assert _start("-c", "import chatsite.asgi", VAR_DIR=str(tmp_path)).returncode == 0


# --- Web Push and the installable app (E040-E044) -------------------------------------------------
def _pem(curve) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(curve).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def _other_curve_key() -> str:
    from cryptography.hazmat.primitives.asymmetric import ec

    return _pem(ec.SECP384R1())


@pytest.mark.parametrize("setting, value, error_id", [
    ("VAPID_PRIVATE_KEY", "not a key", "chatsite.E040"),
    ("VAPID_PRIVATE_KEY", _other_curve_key(), "chatsite.E040"),
    ("VAPID_SUBJECT", "admin@example.com", "chatsite.E041"),
    ("VAPID_SUBJECT", "http://example.com", "chatsite.E041"),
    ("PUSH_TTL_SECONDS", 0, "chatsite.E042"),
    ("PUSH_TTL_SECONDS", 29 * 86400, "chatsite.E042"),
    ("PUSH_PRESENCE_TTL_SECONDS", 0, "chatsite.E043"),
    ("PUSH_TIMEOUT_SECONDS", "10", "chatsite.E044"),
])
def test_each_bad_push_setting_gives_its_error(setting, value, error_id):
    with override_settings(**{setting: value}):
        assert _ids() == [error_id]
        with pytest.raises(ImproperlyConfigured, match=error_id):
            raise_for_bad_settings()


def test_a_p256_vapid_key_and_a_contact_url_pass():
    from cryptography.hazmat.primitives.asymmetric import ec

    with override_settings(VAPID_PRIVATE_KEY=_pem(ec.SECP256R1()), VAPID_SUBJECT="https://chat.example.com/contact"):
        assert _ids() == []
