"""Production settings, read from the environment, pass Django's deployment checks.

Each case runs ``manage.py`` in a fresh process, as an operator would. The processes start together
(they take a couple of seconds each, mostly imports) and each test looks at one of them.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
CHECK = ("check", "--deploy", "--fail-level", "WARNING")
SHOW = """
import json
from django.conf import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG, "ALLOWED_HOSTS": s.ALLOWED_HOSTS, "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": s.CSRF_COOKIE_SECURE, "SECURE_SSL_REDIRECT": s.SECURE_SSL_REDIRECT,
    "SECURE_HSTS_SECONDS": s.SECURE_HSTS_SECONDS, "SECURE_PROXY_SSL_HEADER": s.SECURE_PROXY_SSL_HEADER,
    "TRUSTED_PROXY_COUNT": s.ALLAUTH_TRUSTED_PROXY_COUNT, "SECRET_KEY": s.SECRET_KEY,
    "MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN": s.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN,
}))
"""
SHOW_ARGS = ("shell", "--no-startup", "-c", SHOW)


def base_env(var_dir: Path) -> dict:
    # The developer's or CI's own settings must not leak into what is checked.
    drop = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "TRUSTED_PROXY_COUNT")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("SECURE_", "DJANGO_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "chatsite.settings", "VAR_DIR": str(var_dir)})
    return env


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    production = {
        **base_env(tmp_path_factory.mktemp("prod-var")),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "chat.example.com",
        "SECURE_HTTPS": "1",
        "SECURE_PROXY_SSL_HEADER": "1",
    }
    assert len(production["SECRET_KEY"]) >= 50
    bare_var = tmp_path_factory.mktemp("bare-var")
    plan = {
        "check": (production, CHECK),
        "insecure_check": ({**production, "DEBUG": "1", "SECURE_HTTPS": "0"}, CHECK),
        "production_settings": ({**production, "TRUSTED_PROXY_COUNT": "1"}, SHOW_ARGS),
        "bare_settings": (base_env(bare_var), SHOW_ARGS),
    }
    started = {
        name: subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name, (env, args) in plan.items()
    }
    results = {}
    for name, process in started.items():
        stdout, stderr = process.communicate(timeout=120)
        results[name] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    # A second process with the same bare environment must find the key the first one kept.
    results["bare_settings_again"] = subprocess.run(
        [sys.executable, "manage.py", *SHOW_ARGS], cwd=BASE_DIR, env=plan["bare_settings"][0],
        capture_output=True, text=True, timeout=120,
    )
    results["production_env"] = production
    results["bare_var"] = bare_var
    return results


def settings_shown(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_in_production(runs):
    result = runs["check"]

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stderr
    assert "ERROR" not in result.stderr


def test_check_deploy_does_fail_on_an_insecure_configuration(runs):
    # The check above means something: the same command refuses DEBUG on and plain HTTP.
    result = runs["insecure_check"]

    assert result.returncode != 0
    assert "security.W018" in result.stderr  # DEBUG on
    assert "security.W008" in result.stderr  # no HTTPS redirect


def test_production_environment_turns_on_the_https_protections(runs):
    values = settings_shown(runs["production_settings"])

    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["chat.example.com"]
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["TRUSTED_PROXY_COUNT"] == 1
    assert values["SECRET_KEY"] == runs["production_env"]["SECRET_KEY"]
    assert values["MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN"] is False


def test_without_environment_debug_is_off_and_a_secret_key_is_kept(runs):
    first = settings_shown(runs["bare_settings"])
    second = settings_shown(runs["bare_settings_again"])

    assert first["DEBUG"] is False
    assert first["TRUSTED_PROXY_COUNT"] == 0
    assert first["SESSION_COOKIE_SECURE"] is False  # plain HTTP on a developer's machine works
    key_file = runs["bare_var"] / "secret_key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert len(first["SECRET_KEY"]) >= 50
    assert first["SECRET_KEY"] == second["SECRET_KEY"] == key_file.read_text().strip()
