"""The cheap refusals the API makes before any download: the burst limit and the daily quota.

The quota is checked again under the account's lock when the request is charged
(:func:`upscale.services.submit`); this early look only spares a doomed download.

Every request counts once against the burst limit on arrival. A failed image download counts
``ARTNEX_FAILED_FETCH_BURST_WEIGHT`` times more: it is refused without charge, yet it held a
connection and a thread for up to the whole fetch deadline, so a key whose URLs keep failing
(or drip on purpose) runs out of burst long before a working integration would notice.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited

from accounts.models import ApiKey
from artnex.errors import ApiError, RateLimitExceeded

from . import intake, submission
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


def read_image_counting_failures(request: HttpRequest, image: Any) -> intake.ImageSource:
    """:func:`upscale.submission.read_source` (a URL, a data URI or an upload), with a failed
    download weighing on the burst limit."""
    try:
        return submission.read_source(image)
    except ApiError:
        if isinstance(image, str) and image.strip()[:4].lower() == "http":
            for _ in range(settings.ARTNEX_FAILED_FETCH_BURST_WEIGHT):
                # django-ratelimit adds one per call and keeps its cache key private.
                is_ratelimited(request, group=BURST_GROUP, key=burst_key, rate=settings.ARTNEX_BURST_RATE,
                               increment=True)
        raise
