"""Prometheus metrics of the upscale product: how long upscales take per model, and the
credits that move. Counted where they happen (the worker, the ledger), and served by the
host's ``/metrics`` (web) or the worker's own metrics port (artnex/worker_metrics.py)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from prometheus_client import Counter, Histogram

from billing.models import LedgerEntry

# CPU upscales take seconds to minutes, GPU ones well under a second.
UPSCALE_DURATION = Histogram(
    "artnex_upscale_duration_seconds", "Time a worker spent on one upscale, by model and outcome.",
    ["model", "outcome"], buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
CREDITS = Counter(
    "artnex_credits_total", "Credits moved through the ledger, by kind (charge, refund, grant, purchase).",
    ["kind"],
)


@receiver(post_save, sender=LedgerEntry)
def count_credits(sender: type[LedgerEntry], instance: LedgerEntry, created: bool, **kwargs: Any) -> None:
    if created:
        # After commit: a charge rolled back with its request was never taken.
        transaction.on_commit(lambda: CREDITS.labels(instance.kind).inc(abs(instance.amount)))
