"""The short-burst limit per API key (``ARTNEX_BURST_RATE``), in the shared cache.

Every request counts once on arrival. A failed image download counts
``ARTNEX_FAILED_FETCH_BURST_WEIGHT`` times more: it is refused without charge, yet it held a
connection and a thread for up to the whole fetch deadline, so a key whose URLs keep failing
(or drip on purpose) runs out of burst long before a working integration would notice.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django_ratelimit.core import is_ratelimited

from .errors import RateLimitExceeded

GROUP = "upscale-burst"


def burst_key(group: str, request: Any) -> str:
    return f"key:{request.auth.pk}"


def check(request: Any) -> None:
    """Count this request; 429 once the key is past its burst rate."""
    if is_ratelimited(request, group=GROUP, key=burst_key, rate=settings.ARTNEX_BURST_RATE, increment=True):
        raise RateLimitExceeded("Too many requests in a short time: slow down.", headers={"Retry-After": "60"})


def count_failed_fetch(request: Any) -> None:
    # django-ratelimit adds one per call and keeps its cache key private: call it per unit.
    for _ in range(settings.ARTNEX_FAILED_FETCH_BURST_WEIGHT):
        is_ratelimited(request, group=GROUP, key=burst_key, rate=settings.ARTNEX_BURST_RATE, increment=True)
