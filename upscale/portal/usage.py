"""Per-day usage of one account, for the dashboard's 30-day charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Account

from ..models import UpscaleRequest

Status = UpscaleRequest.Status


@dataclass(frozen=True)
class DayUsage:
    day: date
    delivered: int  # requests that succeeded (or are still running)
    failed: int
    credits: int  # credits kept: failed requests were refunded

    @property
    def requests(self) -> int:
        return self.delivered + self.failed


def daily_usage(account: Account, days: int = 30, now: datetime | None = None) -> list[DayUsage]:
    """One entry per UTC day, oldest first, today last; days without requests are zeros."""
    today = (now or timezone.now()).astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    rows = (
        UpscaleRequest.objects.filter(account=account, created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(
            failed=Count("pk", filter=Q(status=Status.FAILED)),
            total=Count("pk"),
            credits=Sum("credits_charged"),
        )
    )
    by_day = {row["day"]: row for row in rows}
    usage = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = by_day.get(day)
        if row is None:
            usage.append(DayUsage(day, 0, 0, 0))
        else:
            usage.append(DayUsage(day, row["total"] - row["failed"], row["failed"], int(row["credits"] or 0)))
    return usage
