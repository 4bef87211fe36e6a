"""The cheap refusals the API makes before any download: the burst limit and the daily quota.

The quota is checked again under the account's lock when the request is charged
(:func:`upscale.services.submit`); this early look only spares a doomed download.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited

from accounts.models import ApiKey
from artnex.errors import RateLimitExceeded

from .quota import quota_exceeded, quota_state

BURST_GROUP = "upscale-burst"


def burst_key(group: str, request: Any) -> str:
    # Per key, not per account or address: one runaway script does not lock out the others.
    return f"key:{request.auth.pk}"


def check(request: HttpRequest, api_key: ApiKey) -> None:
    """Raise the contract's 429 when the daily quota is used up or the key sends too fast."""
    quota = quota_state(api_key.account)
    if quota.exhausted:
        raise quota_exceeded(quota)
    if is_ratelimited(request, group=BURST_GROUP, key=burst_key, rate=settings.ARTNEX_BURST_RATE, increment=True):
        raise RateLimitExceeded("Too many requests in a short time: slow down.", headers={"Retry-After": "60"})
