"""Housekeeping of idempotency keys."""

from __future__ import annotations

from celery import shared_task

from . import store


@shared_task(name="upscale.idempotency.purge_expired", ignore_result=True, soft_time_limit=60, time_limit=90)
def purge_expired_keys() -> int:
    """Keys are honoured for 24 hours; older records only take space."""
    return store.purge_expired()
