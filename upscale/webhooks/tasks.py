"""Celery tasks of the webhooks: one attempt per message, and the sweeper that retries."""

from __future__ import annotations

from celery import shared_task

from . import delivery


@shared_task(name="upscale.webhooks.deliver", ignore_result=True, soft_time_limit=60, time_limit=90)
def deliver_webhook(delivery_id: int) -> bool:
    """Attempt a delivery if it is due; a duplicate or early message does nothing."""
    claimed = delivery.claim(delivery_id)
    if claimed is None:
        return False
    return delivery.attempt(claimed).succeeded


@shared_task(name="upscale.webhooks.retry_due", ignore_result=True, soft_time_limit=60, time_limit=90)
def retry_due_webhooks() -> int:
    """Queue every delivery whose back-off has passed (or whose attempt's lease ran out
    because its worker died): the row, not a countdown in the broker, holds the schedule."""
    due = delivery.due()
    for delivery_id in due:
        deliver_webhook.delay(delivery_id)
    return len(due)
