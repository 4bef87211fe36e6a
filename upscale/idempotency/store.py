"""Claiming a key, replaying its answer, waiting for a concurrent first request.

The record is inserted in its own committed transaction before any work, and the unique
(account, key) constraint decides who goes first: exactly one request does the work, every
duplicate waits for its answer (or takes over if it ended in an error that charged nothing).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from artnex.errors import IdempotencyConflict, InvalidRequest

from ..models import UpscaleRequest
from .models import IdempotencyRecord

WINDOW = timedelta(hours=24)
# A first request that has recorded no upscale this long after claiming its key is taken for
# dead (its web process was killed, or the database stopped before it could release the key):
# a retry takes the key over. One merely slow (a long image download) then charges nothing:
# lifecycle.create checks, under the key record's lock, that the key is still its own.
TAKEOVER_AFTER = timedelta(seconds=10)
MAX_KEY_LENGTH = 255
# Answer headers worth replaying; the rate-limit ones describe the original moment.
_REPLAYED_HEADERS = ("Location", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@dataclass(frozen=True)
class Replay:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Unanswered:
    """The first request with this key recorded its upscale but has not answered: its web
    process died while its client waited (or it is still waiting). Its upscale is the answer."""

    record: IdempotencyRecord
    request_id: str


def check_key(key: str) -> str:
    if not 0 < len(key) <= MAX_KEY_LENGTH or not all(" " <= char <= "~" for char in key):
        raise InvalidRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.")
    return key


def _abandoned_before() -> timedelta:
    # A first request still "in progress" after the longest wait it could make is dead (its
    # process was killed): its key is free again. No charge survives it (fail_stale refunds).
    return timedelta(seconds=settings.ARTNEX_WAIT_SECONDS + 60)


def claim(account_id: int, key: str, fingerprint: str) -> IdempotencyRecord | Replay | Unanswered:
    """Our record to complete, the answer a first request already gave, or the upscale it
    recorded and has not answered yet.

    Raises IdempotencyConflict for a different body, or when the first request is still
    running after this one waited as long as a synchronous upscale may take.
    """
    deadline = time.monotonic() + settings.ARTNEX_WAIT_SECONDS
    delay = 0.05
    while True:
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(account_id=account_id, key=key, fingerprint=fingerprint)
        except IntegrityError:
            pass
        record = IdempotencyRecord.objects.filter(account_id=account_id, key=key).first()
        if record is None:
            continue  # the first request released it between our insert and this read
        now = timezone.now()
        if record.created_at < now - WINDOW or (
            not record.completed and record.created_at < now - _abandoned_before()
        ):
            IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at).delete()
            continue
        if record.fingerprint != fingerprint:
            raise IdempotencyConflict()
        if record.completed:
            assert record.response_status is not None
            return Replay(record.response_status, record.response_body, dict(record.response_headers))
        started = _recorded_upscale(record)
        if started:
            # Whether its waiter is alive or died with its web process, nothing tells apart: so
            # this one answers the same upscale too. Waiting for the first one's answer instead
            # kept the client of a dead process waiting ARTNEX_WAIT_SECONDS for a 409.
            return Unanswered(record, started)
        if record.created_at < now - TAKEOVER_AFTER and _took_over(record):
            continue
        if time.monotonic() >= deadline:
            raise IdempotencyConflict("A request with this Idempotency-Key is still in progress; retry later.")
        _pause(delay)
        delay = min(delay * 1.5, 0.5)


def _took_over(record: IdempotencyRecord) -> bool:
    """Delete the in-progress record of a first request that recorded no upscale, unless it has
    recorded one meanwhile. The lock waits for a first request charging right now."""
    with transaction.atomic():
        held = IdempotencyRecord.objects.filter(pk=record.pk, response_status__isnull=True)
        locked = held.select_for_update().first()
        if locked is None:
            return True  # released or completed meanwhile: claim again
        if _recorded_upscale(locked):
            return False
        locked.delete()
    return True


def _recorded_upscale(record: IdempotencyRecord) -> str:
    """The upscale the key's current record started ("" before its row is committed); an older
    row with the key belongs to an earlier, released try."""
    rows = UpscaleRequest.objects.filter(account_id=record.account_id, idempotency_key=record.key,
                                         created_at__gte=record.created_at)
    return str(rows.order_by("-created_at").values_list("request_id", flat=True).first() or "")


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def complete(record: IdempotencyRecord, status: int, body: Any, headers: dict[str, str], request_id: str) -> None:
    """Keep a charged answer (2xx) for replay; release the key after an answer that charged nothing."""
    if not 200 <= status < 300:
        release(record)
        return
    kept = {name: headers[name] for name in _REPLAYED_HEADERS if name in headers}
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        response_status=status, response_body=body, response_headers=kept, request_id=request_id,
        completed_at=timezone.now(),
    )


def release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, response_status__isnull=True).delete()


def purge_expired() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - WINDOW).delete()
    return deleted
