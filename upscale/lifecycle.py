"""State transitions of an upscale request, each one a conditional update.

queued ──claim──▶ processing ──succeed──▶ succeeded ──deliver──▶ (delivered_at set)
   │                  │                        │
   └──────fail────────┴────────abandon─────────┴──▶ failed (credits refunded in the same transaction)

A queued job is claimed only before its waiter's deadline (``wait_deadline``): after it, no
one is left to receive the result, so the job is failed and refunded instead of run. A
succeeded job whose link was never handed out (the waiter disconnected or died) is abandoned
the same way. Every terminal failure deletes the customer's input (and any result).

Asynchronous and webhook requests have no waiter (``wait_deadline`` is NULL): their result is
fetched later, by polling ``GET /v1/upscale/{id}`` or from the webhook, so a succeeded one is
never abandoned. A status poll that hands a link out records the delivery too.

A transition that finds the row no longer in the expected state changes nothing and says so,
so a late worker, a redelivered task and a timed-out waiter can never both win.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, ApiKey
from billing import ledger

from . import storage
from .idempotency.models import IdempotencyRecord
from .inspect import ImageInfo
from .intake import ImageSource
from .models import UpscaleRequest
from .quota import QuotaExhausted, QuotaState, quota_state
from .webhooks import delivery as webhooks

log = logging.getLogger(__name__)
Status = UpscaleRequest.Status
FailureCode = UpscaleRequest.FailureCode
# A succeeded result no one can receive any more: it waited for a waiter (who never handed the
# link out) and has no webhook to carry it. Without a waiter the result stays to be polled.
_UNRECEIVABLE = Q(delivered_at__isnull=True, wait_deadline__isnull=False, webhook_url__isnull=True)


class NotEnoughCredits(Exception):
    """The balance is below the price; nothing was charged or recorded."""

    def __init__(self, price: int, balance: int) -> None:
        self.price, self.balance = price, balance
        super().__init__(f"this request costs {price} credits; the balance is {balance}")


class TooManyUnfinished(Exception):
    """The account already has its plan's ``max_queued`` jobs queued or processing."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"{limit} upscale jobs are already queued or processing")


class KeyTakenOver(Exception):
    """The request's Idempotency-Key record is gone: a retry took the key over while this
    request was slow to get here (idempotency/store.py). Nothing was charged or recorded."""


def create(
    *, request_id: str, account_id: int, api_key: ApiKey | None, source: ImageSource, info: ImageInfo,
    scale: float, output_size: tuple[int, int], model: str, input_file: str,
    idempotency_key: str | None = None, idempotency_record_id: int | None = None, webhook_url: str | None = None,
    output_format: str = "", wait_deadline: datetime | None = None,
) -> tuple[UpscaleRequest, QuotaState]:
    """Check the quota, charge the price and record the request, atomically per account.

    Raises :class:`QuotaExhausted`, :class:`TooManyUnfinished`, :class:`NotEnoughCredits` or
    :class:`KeyTakenOver`, having written nothing.
    """
    price = settings.ARTNEX_PRICE_CREDITS
    with transaction.atomic():
        # The lock serialises this account's requests: the quota count and the balance
        # check below cannot be raced by a parallel request.
        account = Account.objects.select_for_update().select_related("plan").get(pk=account_id)
        # Locked until this commits: a retry taking the key over waits for it, then finds the row.
        if idempotency_record_id is not None and not (
            IdempotencyRecord.objects.select_for_update().filter(pk=idempotency_record_id).exists()
        ):
            raise KeyTakenOver()
        quota = quota_state(account)
        if quota.exhausted:
            raise QuotaExhausted(quota)
        # Counted under the same lock, so parallel submissions cannot overshoot the limit.
        unfinished = UpscaleRequest.objects.filter(account=account, status__in=(Status.QUEUED, Status.PROCESSING))
        if unfinished.count() >= account.plan.max_queued:
            raise TooManyUnfinished(account.plan.max_queued)
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
            output_format=output_format, wait_deadline=wait_deadline,
        )
    used = QuotaState(limit=quota.limit, used=quota.used + 1, resets_at=quota.resets_at)
    return row, used


def claim(request_id: str, *, redelivered: bool = False) -> bool:
    """Queued → processing, only while someone still waits for the result. A re-delivered
    message also takes over a request its dead worker left in processing (see
    upscale/redelivery.py for why that is safe)."""
    now = timezone.now()
    waited_for = Q(wait_deadline__isnull=True) | Q(wait_deadline__gt=now)
    states = [Status.QUEUED, Status.PROCESSING] if redelivered else [Status.QUEUED]
    return bool(
        UpscaleRequest.objects.filter(waited_for, request_id=request_id, status__in=states)
        .update(status=Status.PROCESSING, started_at=now)
    )


def deliver(request_id: str) -> bool:
    """Record that the result link is handed out (by the waiter or a status poll); False if the
    request was abandoned meanwhile. Handing out a link already handed out is still True."""
    succeeded = UpscaleRequest.objects.filter(request_id=request_id, status=Status.SUCCEEDED)
    if succeeded.filter(delivered_at__isnull=True).update(delivered_at=timezone.now()):
        return True
    # Already delivered (the waiter and a poll may both hand it out), or failed by an abandon.
    return succeeded.exists()


def abandon(request_id: str, code: FailureCode, message: str) -> bool:
    """The waiter is gone: fail (and refund) the request unless its result was handed out."""
    if fail(request_id, code, message):
        return True
    return fail(request_id, code, message, from_states=(Status.SUCCEEDED,), undelivered_only=True)


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
         from_states: tuple[str, ...] = (Status.QUEUED, Status.PROCESSING), *, undelivered_only: bool = False) -> bool:
    """Mark the request failed and refund its credits, both or neither; then delete its files."""
    rows = UpscaleRequest.objects.filter(request_id=request_id, status__in=from_states)
    if undelivered_only:
        rows = rows.filter(_UNRECEIVABLE)
    files = list(rows.values_list("input_file", "result_file"))
    with transaction.atomic():
        changed = rows.update(
            status=Status.FAILED, error_code=code, error_message=message[:255], finished_at=timezone.now(),
            credits_charged=0,
        )
        if changed:
            ledger.refund(request_id, reason=f"upscale failed: {code}")
            webhooks.arm(request_id)
    if changed:
        log.warning("upscale %s failed: %s (%s)", request_id, code, message)
        # A failed request keeps no customer image: neither the input nor an undelivered result.
        for names in files:
            for name in names:
                _delete_quietly(name)
    return bool(changed)


def _delete_quietly(name: str) -> None:
    try:
        storage.delete(name)
    except Exception:
        # The purge sweeps what is left; the refund above must stand either way.
        log.exception("could not delete %s; the purge will retry", name)
