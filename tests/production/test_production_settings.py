"""ARTNEX_ENV=production refuses unsafe settings and passes ``check --deploy`` when correct.

Settings are read once per process, so each case starts a fresh ``manage.py`` with its own
environment, as an operator's deploy would.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from artnex.production import weak_secret_key

REPO = Path(__file__).resolve().parents[2]


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ARTNEX_", "DJANGO_", "CACHE_"))}
    env.update(
        ARTNEX_ENV="production", ARTNEX_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="artnex.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50), ARTNEX_API_KEY_PEPPER=secrets.token_urlsafe(32),
        DJANGO_ALLOWED_HOSTS="api.example.com", CACHE_URL="rediscache://127.0.0.1:6379/15",
        EMAIL_URL="smtp+tls://artnex:mail-password@smtp.example.com:587",
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def settings_of(env: dict[str, str], *names: str) -> list[str]:
    """The settings a process started with ``env`` resolves, one repr per line."""
    code = ("import django; django.setup(); from django.conf import settings; "
            f"[print(repr(getattr(settings, name))) for name in {list(names)!r}]")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_a_correct_production_environment_passes_check_deploy_without_a_warning(tmp_path) -> None:
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)" in result.stdout


def test_behind_a_tls_proxy_the_operator_hands_https_to_it(tmp_path) -> None:
    """Each HTTPS duty turned off by the operator silences only its own check."""
    env = production_env(tmp_path, ARTNEX_SSL_REDIRECT="0", ARTNEX_HSTS_SECONDS="0",
                         ARTNEX_PROXY_SSL_HEADER="X-Forwarded-Proto")
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    shown = settings_of(env, "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_PROXY_SSL_HEADER")
    assert shown == ["False", "0", "('HTTP_X_FORWARDED_PROTO', 'https')"]


def test_defaults_enforce_https_and_trust_no_proxy_header(tmp_path) -> None:
    shown = settings_of(production_env(tmp_path), "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
                        "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER",
                        "SECURE_REDIRECT_EXEMPT")
    assert shown == ["True", "31536000", "True", "True", "None", "['^healthz$', '^readyz$', '^metrics$']"]


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"ARTNEX_ALLOW_PRIVATE_URLS": "1"}, "ARTNEX_ALLOW_PRIVATE_URLS=1"),
    ({"DJANGO_DEBUG": "1"}, "DJANGO_DEBUG=1"),
    ({"DJANGO_SECRET_KEY": "too-short-a-key"}, "at least 50 characters"),
    ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) is not set"),
    ({"DJANGO_SECRET_KEY": "django-insecure-" + "x1y2z3" * 10}, "default or placeholder"),
    ({"ARTNEX_API_KEY_PEPPER": None}, "ARTNEX_API_KEY_PEPPER (or ARTNEX_API_KEY_PEPPER_FILE) is not set"),
    ({"CACHE_URL": None}, "CACHE_URL must name a shared cache"),
    ({"DJANGO_ALLOWED_HOSTS": None}, "DJANGO_ALLOWED_HOSTS is empty"),
    ({"EMAIL_URL": None}, "EMAIL_URL must name the SMTP server"),
])
def test_production_refuses_to_start(tmp_path, overrides, reason) -> None:
    result = manage(production_env(tmp_path, **overrides), "check")
    assert result.returncode != 0
    assert "ARTNEX_ENV=production refuses to start" in result.stderr
    assert reason in result.stderr


def test_every_refusal_is_listed_at_once(tmp_path) -> None:
    env = production_env(tmp_path, DJANGO_DEBUG="1", ARTNEX_ALLOW_PRIVATE_URLS="1", ARTNEX_API_KEY_PEPPER=None)
    stderr = manage(env, "check").stderr
    assert "DJANGO_DEBUG=1" in stderr and "ARTNEX_ALLOW_PRIVATE_URLS=1" in stderr and "ARTNEX_API_KEY_PEPPER" in stderr


def test_one_web_process_may_opt_out_of_the_shared_cache(tmp_path) -> None:
    env = production_env(tmp_path, CACHE_URL=None, ARTNEX_ALLOW_LOCAL_CACHE="1")
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr


def test_secrets_come_from_files(tmp_path) -> None:
    """Docker/Kubernetes secrets: X_FILE names the file; its trailing newline is not part of it."""
    key, pepper = secrets.token_urlsafe(50), secrets.token_urlsafe(32)
    (tmp_path / "key").write_text(key + "\n")
    (tmp_path / "pepper").write_text(pepper + "\n")
    env = production_env(tmp_path, DJANGO_SECRET_KEY=None, ARTNEX_API_KEY_PEPPER=None,
                         DJANGO_SECRET_KEY_FILE=str(tmp_path / "key"),
                         ARTNEX_API_KEY_PEPPER_FILE=str(tmp_path / "pepper"))
    assert settings_of(env, "SECRET_KEY", "ARTNEX_API_KEY_PEPPER") == [repr(key), repr(pepper)]


def test_weak_secret_key_rule() -> None:
    assert weak_secret_key(secrets.token_urlsafe(50)) is None
    assert weak_secret_key("a" * 60) is not None  # long but not varied
    assert weak_secret_key("changeme") is not None


def test_console_email_is_an_explicit_choice_in_production(tmp_path) -> None:
    """Password resets must reach customers: no EMAIL_URL is refused unless the operator opts
    out; EMAIL_URL may come from a secret file like every other setting."""
    opted_out = production_env(tmp_path, EMAIL_URL=None, ARTNEX_ALLOW_CONSOLE_EMAIL="1")
    assert manage(opted_out, "check").returncode == 0
    assert settings_of(opted_out, "EMAIL_BACKEND") == ["'django.core.mail.backends.console.EmailBackend'"]

    (tmp_path / "email-url").write_text("smtp+tls://artnex:from-a-file@smtp.example.com:587\n")
    from_file = production_env(tmp_path, EMAIL_URL=None, EMAIL_URL_FILE=str(tmp_path / "email-url"))
    assert manage(from_file, "check").returncode == 0
    assert settings_of(from_file, "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS") == [
        "'django.core.mail.backends.smtp.EmailBackend'", "'smtp.example.com'", "'from-a-file'", "True"]
