"""What a production process refuses to start with.

Settings call :func:`refusals` with the values they resolved and raise ``ImproperlyConfigured``
with every reason at once, so an operator fixes the environment in one go instead of one
restart per mistake. Kept apart from settings.py so the rules are plain to read and testable
without re-importing settings.
"""

from __future__ import annotations

from dataclasses import dataclass

# Django's own rule for a strong key (security.W009): long and varied, not the startproject one.
_MIN_SECRET_KEY_LENGTH = 50
_MIN_SECRET_KEY_UNIQUE_CHARACTERS = 5
_INSECURE_KEY_PREFIX = "django-insecure-"
# Placeholders that turn up in copied .env files and compose examples.
_KNOWN_DEFAULT_KEYS = frozenset({"changeme", "change-me", "secret", "dev", "development", "insecure"})


@dataclass(frozen=True)
class ProductionValues:
    secret_key: str
    debug: bool
    allow_private_urls: bool
    api_key_pepper: str
    allowed_hosts: list[str]
    shared_cache: bool
    local_cache_opt_out: bool
    email_configured: bool = True
    console_email_opt_out: bool = False


def weak_secret_key(key: str) -> str | None:
    """Why this key is not fit for production, or None when it is."""
    if key.lower() in _KNOWN_DEFAULT_KEYS or key.startswith(_INSECURE_KEY_PREFIX):
        return "DJANGO_SECRET_KEY is a default or placeholder value"
    if len(key) < _MIN_SECRET_KEY_LENGTH or len(set(key)) < _MIN_SECRET_KEY_UNIQUE_CHARACTERS:
        return (f"DJANGO_SECRET_KEY must be at least {_MIN_SECRET_KEY_LENGTH} characters with at least "
                f"{_MIN_SECRET_KEY_UNIQUE_CHARACTERS} different ones (python -c 'import secrets; "
                "print(secrets.token_urlsafe(50))')")
    return None


def refusals(values: ProductionValues) -> list[str]:
    """Every reason this configuration must not serve customers; empty when it may."""
    reasons = []
    if not values.secret_key:
        reasons.append("DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) is not set")
    elif problem := weak_secret_key(values.secret_key):
        reasons.append(problem)
    if values.debug:
        reasons.append("DJANGO_DEBUG=1 shows code and settings to anyone who triggers an error")
    if values.allow_private_urls:
        reasons.append("ARTNEX_ALLOW_PRIVATE_URLS=1 lets customers make the server fetch internal addresses")
    if not values.api_key_pepper:
        # Without its own pepper, API key hashes would hang on the secret key: rotating the
        # secret key would then lock every customer out.
        reasons.append("ARTNEX_API_KEY_PEPPER (or ARTNEX_API_KEY_PEPPER_FILE) is not set")
    elif values.api_key_pepper == values.secret_key:
        reasons.append("ARTNEX_API_KEY_PEPPER must differ from DJANGO_SECRET_KEY")
    if not values.allowed_hosts:
        reasons.append("DJANGO_ALLOWED_HOSTS is empty: every request would be refused")
    if not values.shared_cache and not values.local_cache_opt_out:
        # Rate limits and burst counters live in the cache: per-process memory gives each
        # web process its own counters, so the limits multiply with the process count.
        reasons.append("CACHE_URL must name a shared cache (redis://...) so that rate limits hold across "
                       "processes; set ARTNEX_ALLOW_LOCAL_CACHE=1 to run one web process without one")
    if not values.email_configured and not values.console_email_opt_out:
        # Without it, password resets and address confirmations are printed in a log no
        # customer reads: a customer who forgets a password is locked out for good.
        reasons.append("EMAIL_URL must name the SMTP server (smtp+tls://user:password@smtp.example.com:587) "
                       "that sends password resets and address confirmations; set ARTNEX_ALLOW_CONSOLE_EMAIL=1 "
                       "to accept that those mails only reach the log")
    return reasons
