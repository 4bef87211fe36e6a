"""A delivery's life: prepared at submit (the URL and the public root the links are built on),
armed when the request finishes (the payload frozen), then attempted until a 2xx answer or
the last attempt, each attempt claimed with a conditional update so no two workers send it."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from upscale.models import UpscaleRequest
from upscale.results import status_body

from . import signing, transport
from .models import WebhookAttempt, WebhookDelivery
from .secret_store import signing_secrets

log = logging.getLogger(__name__)
Status = WebhookDelivery.Status
# While an attempt runs its delivery is leased: a duplicate task message finds it not yet due.
_LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Target:
    url: str
    base_url: str  # where the result links in the payload point


def prepare(row: UpscaleRequest, target: Target) -> WebhookDelivery:
    """Record the webhook of a request just submitted; it is sent when the request finishes.

    The worker may finish first (it starts once the row commits): then no transition found
    this delivery to arm, so it is armed here. Arming is a conditional update, so when both
    happen only one sends.
    """
    delivery = WebhookDelivery.objects.create(request=row, account_id=row.account_id, url=target.url,
                                              base_url=target.base_url, next_attempt_at=None)
    if UpscaleRequest.objects.get(pk=row.pk).is_terminal:
        arm(row.request_id)
    return delivery


def arm(request_id: str) -> None:
    """The request reached its final state: freeze the payload and send it once committed."""
    delivery = WebhookDelivery.objects.filter(request__request_id=request_id, status=Status.PENDING,
                                              next_attempt_at__isnull=True, attempts=0).first()
    if delivery is None:
        return
    row = UpscaleRequest.objects.get(request_id=request_id)
    payload = json.dumps(status_body(row, delivery.base_url), separators=(",", ":"))
    armed = WebhookDelivery.objects.filter(pk=delivery.pk, next_attempt_at__isnull=True).update(
        payload=payload, next_attempt_at=timezone.now())
    if armed:
        from .tasks import deliver_webhook

        transaction.on_commit(lambda: _enqueue(delivery.pk, deliver_webhook))


def _enqueue(delivery_id: int, task: object) -> None:
    try:
        task.delay(delivery_id)  # type: ignore[attr-defined]
    except Exception:
        # The sweeper finds the due delivery again: a broker hiccup delays it, loses nothing.
        log.exception("could not queue webhook delivery %s", delivery_id)


def backoff(attempts_made: int) -> timedelta:
    """30 s, 2 min, 8 min, 32 min, ... (base x 4^n), capped at a day."""
    seconds = settings.ARTNEX_WEBHOOK_RETRY_BASE_SECONDS * 4 ** (attempts_made - 1)
    return timedelta(seconds=min(seconds, 24 * 3600))


def claim(delivery_id: int) -> WebhookDelivery | None:
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, status=Status.PENDING, next_attempt_at__lte=now).update(
        attempts=F("attempts") + 1, next_attempt_at=now + _LEASE)
    return WebhookDelivery.objects.select_related("account").get(pk=delivery_id) if claimed else None


def attempt(delivery: WebhookDelivery) -> WebhookAttempt:
    """POST the payload once and record what happened."""
    body = delivery.payload.encode()
    timestamp = int(time.time())
    headers = {
        signing.HEADER: signing.header_value(signing_secrets(delivery.account), timestamp, body),
        "Artnex-Delivery": str(delivery.pk),
        "Artnex-Request-Id": delivery.request.request_id,
    }
    started, clock = timezone.now(), time.monotonic()
    status: int | None = None
    error = ""
    try:
        status = transport.post(delivery.url, body, headers, timeout=settings.ARTNEX_WEBHOOK_TIMEOUT_SECONDS)
        if not 200 <= status < 300:
            error = f"answered HTTP {status}"
    except transport.DeliveryError as exc:
        error = str(exc)
    record = WebhookAttempt.objects.create(
        delivery=delivery, number=delivery.attempts, started_at=started, response_status=status, error=error[:255],
        duration_ms=int((time.monotonic() - clock) * 1000),
    )
    _settle(delivery, record)
    return record


def _settle(delivery: WebhookDelivery, record: WebhookAttempt) -> None:
    now = timezone.now()
    pending = WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.PENDING)
    if record.succeeded:
        pending.update(status=Status.DELIVERED, delivered_at=now, next_attempt_at=None)
    elif delivery.attempts >= settings.ARTNEX_WEBHOOK_MAX_ATTEMPTS:
        pending.update(status=Status.FAILED, next_attempt_at=None)
        log.warning("webhook %s for %s failed after %s attempts", delivery.pk, delivery.request_id, delivery.attempts)
    else:
        pending.update(next_attempt_at=now + backoff(delivery.attempts))


def due() -> list[int]:
    return list(WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=timezone.now())
                .values_list("pk", flat=True)[:500])
