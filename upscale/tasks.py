"""Celery tasks. Each takes a request id, re-reads the row and moves it with a conditional
update: a redelivered or late task cannot run a request twice or charge it twice."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from celery import Task, current_app, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from artnex.errors import DATABASE_OUTAGE_ERRORS

from . import engine, lifecycle, metrics, orphans, previews, redelivery, storage
from .models import UpscaleRequest
from .runtime import engine_config

log = logging.getLogger(__name__)
Status = UpscaleRequest.Status
FailureCode = UpscaleRequest.FailureCode
_STORAGE_ATTEMPTS = 3
# A job's time limits end by its waiter's deadline; the grace covers a clock skew and a slow refund.
_STALE_GRACE_S = 90
# The database stopped answering (restarting, failing over). Raised out of the task, the error
# would acknowledge the message and leave the charged row queued or processing with no one to
# run it. Retried instead, a few seconds apart for about half a minute; the retry takes its own
# row over, as a re-delivered message does.
_OUTAGE_RETRIES = 15
_OUTAGE_RETRY_S = 2


@worker_process_init.connect
def _load_model(**_: object) -> None:
    """Load the default model once per worker process, before the first request; a worker
    that serves only housekeeping (beside beat) never runs a model and skips it."""
    if settings.ARTNEX_UPSCALE_QUEUE not in current_app.amqp.queues.consume_from:
        return
    try:
        engine.warm_up(engine_config())
    except engine.EngineError:
        # The task reports the same error per request; the worker stays up for other models.
        log.exception("could not pre-load the default model")


class _Abandoned(Exception):
    """The waiter gave up on this job while it ran: stop spending the worker on it."""


@shared_task(bind=True, name="upscale.tasks.process_upscale", acks_late=True, ignore_result=True,
             autoretry_for=DATABASE_OUTAGE_ERRORS, max_retries=_OUTAGE_RETRIES, default_retry_delay=_OUTAGE_RETRY_S)
def process_upscale(self: Task, request_id: str) -> None:
    redelivered = redelivery.is_redelivery(self.request)
    if redelivered and not redelivery.may_run_again(request_id):
        if lifecycle.fail(request_id, FailureCode.PROCESSING_FAILED, "the worker processing this image stopped, twice"):
            storage.delete(UpscaleRequest.objects.get(request_id=request_id).input_file)
        return
    # A retry after a database outage is published only once its run has stopped.
    if not lifecycle.claim(request_id, redelivered=redelivered or bool(self.request.retries)):
        # Past its waiter's deadline, nobody could receive the result: refund instead of running.
        if lifecycle.fail(request_id, FailureCode.UPSCALE_TIMEOUT,
                          "no worker was free before the request's waiter gave up", from_states=(Status.QUEUED,)):
            return
        log.info("upscale %s is no longer queued; nothing to do", request_id)
        return
    if redelivered:
        log.warning("upscale %s re-delivered after its worker stopped; running it again", request_id)
    log.info("upscale %s started", request_id)  # the request id field comes from the message header
    row = UpscaleRequest.objects.get(request_id=request_id)
    started, outcome = time.monotonic(), "failed"
    try:
        source = storage.read(row.input_file)
        # The format asked for, else the input's: a multi-picture JPEG (MPO) comes out as the
        # JPEG it was accepted as.
        result = engine.upscale_bytes(source, row.scale, config=engine_config(), model=row.model,
                                      out_format=row.output_format or row.input_format,
                                      progress=_still_wanted(request_id))
        # Once more before writing: another run of this request (a re-delivered copy) may have
        # succeeded meanwhile, and the result name is the request's one name. Write nothing then.
        _ensure_still_processing(request_id)
        name = _save_with_retries(storage.result_name(request_id, result.extension), result.data)
    except _Abandoned:
        # The row is terminal already: its failure or the other run's success deleted the input.
        outcome = "abandoned"
        log.info("upscale %s is no longer processing (its waiter gave up, or another run finished it); stopped",
                 request_id)
        return
    except SoftTimeLimitExceeded:
        lifecycle.fail(request_id, FailureCode.UPSCALE_TIMEOUT, "the upscale ran past its time limit")
        return
    except engine.EngineError as exc:
        lifecycle.fail(request_id, FailureCode.PROCESSING_FAILED, str(exc))
        return
    except DATABASE_OUTAGE_ERRORS:
        raise  # not the image's fault: retried (autoretry_for), not failed
    except Exception as exc:
        log.exception("upscale %s crashed", request_id)
        lifecycle.fail(request_id, FailureCode.PROCESSING_FAILED, f"{type(exc).__name__}: {exc}")
        return
    else:
        outcome = "succeeded"
    finally:
        # Failures delete the input with the row's failure (lifecycle.fail); a success deletes
        # it below, once the row is terminal: a re-delivered copy of this job running on another
        # worker meanwhile must still find it.
        metrics.UPSCALE_DURATION.labels(row.model, outcome).observe(time.monotonic() - started)
    accepted = lifecycle.succeed(request_id, result_file=name, output_format=result.format,
                                 output_bytes=len(result.data), width=result.width, height=result.height,
                                 model=result.model)
    storage.delete(row.input_file)
    if not accepted:
        # Refused: the waiter gave up (the row failed and was refunded), or a re-delivered copy
        # of this job on another worker succeeded first. That copy saved under this same name,
        # and its row hands the file out: delete only a file no row names. A row that names it
        # but no longer hands it out (the customer deleted the result, or the request failed
        # after all) does not keep it: this write may have landed after that deletion.
        if not UpscaleRequest.objects.filter(request_id=request_id, result_file=name, status=Status.SUCCEEDED,
                                             purged_at__isnull=True).exists():
            storage.delete(name)
        return
    log.info("upscaled %dx%d -> %dx%d with %s", row.input_width, row.input_height, result.width, result.height,
             result.model)
    previews.save_preview(request_id, source)


def _still_wanted(request_id: str) -> Callable[[int, int], None]:
    """A progress hook that stops the upscale once its row has left ``processing``
    (the waiter gave up and refunded it): checked at most once a second, between tiles."""
    checked = time.monotonic()

    def check(done: int, total: int) -> None:
        nonlocal checked
        if time.monotonic() - checked < 1.0:
            return
        checked = time.monotonic()
        _ensure_still_processing(request_id)

    return check


def _ensure_still_processing(request_id: str) -> None:
    """Raise :class:`_Abandoned` once the row has left ``processing``: its waiter gave up (and
    refunded it), or another run of the same request finished it."""
    if not UpscaleRequest.objects.filter(request_id=request_id, status=Status.PROCESSING).exists():
        raise _Abandoned(request_id)


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
    """Delete results past their 24-hour life (the link then answers 404/410), and customer
    files that no live request owns."""
    orphans.sweep()
    purged = 0
    expired = UpscaleRequest.objects.filter(expires_at__lte=timezone.now(), purged_at__isnull=True)
    for row in expired.only("pk", "request_id", "result_file").iterator():
        storage.delete(row.result_file)
        previews.delete_preview(row.request_id)
        purged += UpscaleRequest.objects.filter(pk=row.pk).update(purged_at=timezone.now())
    return purged


@shared_task(name="upscale.tasks.fail_stale", ignore_result=True)
def fail_stale() -> int:
    """Refund requests that no one will receive: past their waiter's deadline (a web process
    that died or restarted) and not handed out, or, with no waiter, never finished by a worker
    (a crashed worker, a lost message)."""
    now = timezone.now()
    # The waiter itself gives up at its deadline; this catches waiters that are gone.
    waiter_gone = Q(wait_deadline__lt=now - timedelta(seconds=_STALE_GRACE_S)) & (
        Q(status__in=[Status.QUEUED, Status.PROCESSING]) | Q(status=Status.SUCCEEDED, delivered_at__isnull=True)
    )
    limit = settings.ARTNEX_WAIT_SECONDS + settings.CELERY_TASK_TIME_LIMIT + 60
    never_finished = Q(wait_deadline__isnull=True, status__in=[Status.QUEUED, Status.PROCESSING],
                       created_at__lt=now - timedelta(seconds=limit))
    stale = UpscaleRequest.objects.filter(waiter_gone | never_finished)
    return sum(
        lifecycle.abandon(request_id, FailureCode.UPSCALE_TIMEOUT, "no one received the result in time")
        for request_id in stale.values_list("request_id", flat=True)
    )
