"""API key generation, hashing and lookup.

A key looks like ``ax_live_<prefix>_<secret>``: the recognisable start lets secret scanners
and humans spot it; the prefix (8 random characters) finds the row with one indexed query;
the whole key is compared by a keyed HMAC in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import get_random_string

from .models import Account, ApiKey

KEY_START = "ax_live_"
_KEY_RE = re.compile(r"^ax_live_([A-Za-z0-9]{8})_([A-Za-z0-9]{32})$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Writing last_used_at on every call would turn every request into a write; a minute of
# precision is what the dashboard needs.
_LAST_USED_PRECISION = timedelta(minutes=1)


def _random(n: int) -> str:
    return get_random_string(n, _ALPHABET)


def hash_key(key: str) -> str:
    pepper = settings.ARTNEX_API_KEY_PEPPER.encode()
    return hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()


def create_key(account: Account, name: str = "default") -> tuple[ApiKey, str]:
    """Create a key and return it with its plain text, which is never stored."""
    prefix = _random(8)
    while ApiKey.objects.filter(prefix=prefix).exists():
        prefix = _random(8)
    plain = f"{KEY_START}{prefix}_{_random(32)}"
    api_key = ApiKey.objects.create(account=account, name=name, prefix=prefix, key_hash=hash_key(plain))
    return api_key, plain


def find_active_key(plain: str) -> ApiKey | None:
    match = _KEY_RE.match(plain)
    if match is None:
        return None
    api_key = (
        ApiKey.objects.active().select_related("account", "account__plan", "account__user")
        .filter(prefix=match.group(1)).first()
    )
    if api_key is None or not hmac.compare_digest(api_key.key_hash, hash_key(plain)):
        return None
    return api_key


def touch(api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= _LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def revoke(api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
