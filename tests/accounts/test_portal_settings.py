"""Mail and verification come from the environment, with loud failures on bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT = ("import django; django.setup(); from django.conf import settings as s; "
         "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.ACCOUNT_EMAIL_VERIFICATION)")


def settings_with(**env: str) -> subprocess.CompletedProcess[str]:
    # The machine's own EMAIL_URL, if any, must not leak into the default case.
    environment = {name: value for name, value in os.environ.items() if name != "EMAIL_URL"}
    environment.update(DJANGO_SETTINGS_MODULE="artnex.settings", **env)
    return subprocess.run([sys.executable, "-c", PRINT], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=120, check=False)


def test_defaults_print_mail_on_the_console_and_verification_is_optional() -> None:
    result = settings_with()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "django.core.mail.backends.console.EmailBackend"
    assert result.stdout.split()[-1] == "optional"


def test_smtp_and_mandatory_verification_by_configuration() -> None:
    result = settings_with(EMAIL_URL="smtp+tls://user:secret@smtp.example.com:587",
                           ARTNEX_EMAIL_VERIFICATION="mandatory")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.core.mail.backends.smtp.EmailBackend", "smtp.example.com", "587",
                                     "True", "mandatory"]


def test_a_wrong_verification_mode_fails_loudly() -> None:
    result = settings_with(ARTNEX_EMAIL_VERIFICATION="sometimes")
    assert result.returncode != 0
    assert "ARTNEX_EMAIL_VERIFICATION must be none, optional or mandatory" in result.stderr
