"""Celery tasks. Each takes a request id, re-reads the row and moves it with a conditional
update: a redelivered or late task cannot run a request twice or charge it twice."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from django.conf import settings
from django.utils import timezone

from . import engine, lifecycle, previews, storage
from .models import UpscaleRequest
from .runtime import engine_config

log = logging.getLogger(__name__)
Status = UpscaleRequest.Status
FailureCode = UpscaleRequest.FailureCode
_STORAGE_ATTEMPTS = 3


@worker_process_init.connect
def _load_model(**_: object) -> None:
    """Load the default model once per worker process, before the first request."""
    try:
        engine.warm_up(engine_config())
    except engine.EngineError:
        # The task reports the same error per request; the worker stays up for other models.
        log.exception("could not pre-load the default model")


@shared_task(name="upscale.tasks.process_upscale", acks_late=True, ignore_result=True)
def process_upscale(request_id: str) -> None:
    if not lifecycle.claim(request_id):
        log.info("upscale %s is no longer queued; nothing to do", request_id)
        return
    row = UpscaleRequest.objects.get(request_id=request_id)
    try:
        source = storage.read(row.input_file)
        result = engine.upscale_bytes(source, row.scale, config=engine_config(), model=row.model,
                                      out_format=row.output_format or None)
        name = _save_with_retries(storage.result_name(request_id, result.extension), result.data)
    except SoftTimeLimitExceeded:
        lifecycle.fail(request_id, FailureCode.UPSCALE_TIMEOUT, "the upscale ran past its time limit")
        return
    except engine.EngineError as exc:
        lifecycle.fail(request_id, FailureCode.PROCESSING_FAILED, str(exc))
        return
    except Exception as exc:
        log.exception("upscale %s crashed", request_id)
        lifecycle.fail(request_id, FailureCode.PROCESSING_FAILED, f"{type(exc).__name__}: {exc}")
        return
    finally:
        storage.delete(row.input_file)
    if not lifecycle.succeed(request_id, result_file=name, output_format=result.format,
                             output_bytes=len(result.data), width=result.width, height=result.height,
                             model=result.model):
        # The waiter gave up (and refunded) before we finished: the result is not delivered.
        storage.delete(name)
        return
    log.info("upscaled %dx%d -> %dx%d with %s", row.input_width, row.input_height, result.width, result.height,
             result.model)
    previews.save_preview(request_id, source)


def _save_with_retries(name: str, data: bytes) -> str:
    """Storage writes are idempotent per name, so a transient failure is safe to retry."""
    for attempt in range(1, _STORAGE_ATTEMPTS + 1):
        try:
            return storage.save(name, data)
        except OSError:
            if attempt == _STORAGE_ATTEMPTS:
                raise
            time.sleep(0.5 * attempt)
    raise AssertionError("unreachable")


@shared_task(name="upscale.tasks.purge_expired", ignore_result=True)
def purge_expired() -> int:
    """Delete results past their 24-hour life; the link then answers 404/410."""
    purged = 0
    expired = UpscaleRequest.objects.filter(expires_at__lte=timezone.now(), purged_at__isnull=True)
    for row in expired.only("pk", "request_id", "result_file").iterator():
        storage.delete(row.result_file)
        previews.delete_preview(row.request_id)
        purged += UpscaleRequest.objects.filter(pk=row.pk).update(purged_at=timezone.now())
    return purged


@shared_task(name="upscale.tasks.fail_stale", ignore_result=True)
def fail_stale() -> int:
    """Refund requests that no worker finished (a crashed worker, a lost message)."""
    limit = settings.ARTNEX_WAIT_SECONDS + settings.CELERY_TASK_TIME_LIMIT + 60
    cutoff = timezone.now() - timedelta(seconds=limit)
    stale = UpscaleRequest.objects.filter(status__in=[Status.QUEUED, Status.PROCESSING], created_at__lt=cutoff)
    return sum(
        lifecycle.fail(request_id, FailureCode.UPSCALE_TIMEOUT, "no worker finished the request")
        for request_id in stale.values_list("request_id", flat=True)
    )
