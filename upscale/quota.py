"""The daily request quota: upscale requests per account per UTC day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from accounts.models import Account
from artnex.errors import RateLimitExceeded

from .models import UpscaleRequest


@dataclass(frozen=True)
class QuotaState:
    limit: int
    used: int
    resets_at: datetime  # the next UTC midnight

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def exhausted(self) -> bool:
        return self.used >= self.limit

    def retry_after_seconds(self, now: datetime | None = None) -> int:
        now = now or timezone.now()
        return max(1, int((self.resets_at - now).total_seconds() + 0.999))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(self.resets_at.timestamp())),
        }


def day_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    now = (now or timezone.now()).astimezone(UTC)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def quota_state(account: Account, now: datetime | None = None) -> QuotaState:
    start, end = day_bounds(now)
    # Requests that failed on our side do not use up the customer's quota.
    used = (
        UpscaleRequest.objects.filter(account=account, created_at__gte=start, created_at__lt=end)
        .exclude(status=UpscaleRequest.Status.FAILED)
        .count()
    )
    return QuotaState(limit=account.daily_quota, used=used, resets_at=end)


class QuotaExhausted(Exception):
    """The account has used its daily quota; nothing was charged or recorded."""

    def __init__(self, quota: QuotaState) -> None:
        self.quota = quota
        super().__init__(f"daily quota of {quota.limit} requests used up")


def quota_exceeded(quota: QuotaState) -> RateLimitExceeded:
    """The contract's 429 for a used-up quota: when to retry, and the quota headers."""
    return RateLimitExceeded(headers={"Retry-After": str(quota.retry_after_seconds()), **quota.headers()})
