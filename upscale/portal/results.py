"""What the portal may show of a request's files: the result while it lives, then "expired"."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from ..models import UpscaleRequest


def result_available(row: UpscaleRequest, now: datetime | None = None) -> bool:
    """True while the upscaled image can still be downloaded (24 hours after delivery)."""
    return (
        row.status == UpscaleRequest.Status.SUCCEEDED
        and bool(row.result_file)
        and row.purged_at is None
        and row.expires_at is not None
        and row.expires_at > (now or timezone.now())
    )


def result_expired(row: UpscaleRequest, now: datetime | None = None) -> bool:
    return row.status == UpscaleRequest.Status.SUCCEEDED and not result_available(row, now)
