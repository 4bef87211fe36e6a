"""State transitions of an upscale request, each one a conditional update.

queued ──claim──▶ processing ──succeed──▶ succeeded
   │                  │
   └──────fail────────┴──────────────────▶ failed (credits refunded in the same transaction)

A transition that finds the row no longer in the expected state changes nothing and says so,
so a late worker, a redelivered task and a timed-out waiter can never both win.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, ApiKey
from billing import ledger

from .inspect import ImageInfo
from .intake import ImageSource
from .models import UpscaleRequest
from .quota import QuotaExhausted, QuotaState, quota_state
from .webhooks import delivery as webhooks

log = logging.getLogger(__name__)
Status = UpscaleRequest.Status
FailureCode = UpscaleRequest.FailureCode


class NotEnoughCredits(Exception):
    """The balance is below the price; nothing was charged or recorded."""

    def __init__(self, price: int, balance: int) -> None:
        self.price, self.balance = price, balance
        super().__init__(f"this request costs {price} credits; the balance is {balance}")


def create(
    *, request_id: str, account_id: int, api_key: ApiKey | None, source: ImageSource, info: ImageInfo,
    scale: float, output_size: tuple[int, int], model: str, input_file: str,
    idempotency_key: str | None = None, webhook_url: str | None = None, output_format: str = "",
) -> tuple[UpscaleRequest, QuotaState]:
    """Check the quota, charge the price and record the request, atomically per account.

    Raises :class:`QuotaExhausted` or :class:`NotEnoughCredits`, having written nothing.
    """
    price = settings.ARTNEX_PRICE_CREDITS
    with transaction.atomic():
        # The lock serialises this account's requests: the quota count and the balance
        # check below cannot be raced by a parallel request.
        account = Account.objects.select_for_update().select_related("plan").get(pk=account_id)
        quota = quota_state(account)
        if quota.exhausted:
            raise QuotaExhausted(quota)
        try:
            ledger.charge(account.pk, price, request_id)
        except ledger.InsufficientCredits as exc:
            raise NotEnoughCredits(price, account.credits) from exc
        row = UpscaleRequest.objects.create(
            request_id=request_id, account=account, api_key=api_key, source=source.kind,
            source_url=source.url[:2048], scale=scale, model=model, input_format=info.format,
            input_bytes=len(source.data), input_width=info.width, input_height=info.height,
            output_width=output_size[0], output_height=output_size[1], input_file=input_file,
            credits_charged=price, idempotency_key=idempotency_key, webhook_url=webhook_url,
            output_format=output_format,
        )
    used = QuotaState(limit=quota.limit, used=quota.used + 1, resets_at=quota.resets_at)
    return row, used


def claim(request_id: str) -> bool:
    return bool(
        UpscaleRequest.objects.filter(request_id=request_id, status=Status.QUEUED)
        .update(status=Status.PROCESSING, started_at=timezone.now())
    )


def succeed(request_id: str, *, result_file: str, output_format: str, output_bytes: int,
            width: int, height: int, model: str) -> bool:
    now = timezone.now()
    row = UpscaleRequest.objects.only("started_at").get(request_id=request_id)
    elapsed_ms = int((now - row.started_at).total_seconds() * 1000) if row.started_at else None
    changed = UpscaleRequest.objects.filter(request_id=request_id, status=Status.PROCESSING).update(
        status=Status.SUCCEEDED, result_file=result_file, output_format=output_format, model=model,
        output_bytes=output_bytes, output_width=width, output_height=height, finished_at=now,
        processing_ms=elapsed_ms, expires_at=now + timedelta(seconds=settings.RESULT_TTL_SECONDS),
    )
    if changed:
        webhooks.arm(request_id)
    return bool(changed)


def fail(request_id: str, code: FailureCode, message: str,
         from_states: tuple[str, ...] = (Status.QUEUED, Status.PROCESSING)) -> bool:
    """Mark the request failed and refund its credits, both or neither."""
    with transaction.atomic():
        changed = UpscaleRequest.objects.filter(request_id=request_id, status__in=from_states).update(
            status=Status.FAILED, error_code=code, error_message=message[:255], finished_at=timezone.now(),
            credits_charged=0,
        )
        if changed:
            ledger.refund(request_id, reason=f"upscale failed: {code}")
            webhooks.arm(request_id)
    if changed:
        log.warning("upscale %s failed: %s (%s)", request_id, code, message)
    return bool(changed)
