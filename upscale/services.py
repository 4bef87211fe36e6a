"""Submitting an upscale request and waiting for it: the one path every caller takes.

The API view, the portal's "Try it" and the async API all call :func:`submit`, so a request is
checked, charged, recorded and queued the same way whoever asks. Errors leave as the
contract's :class:`~artnex.errors.ApiError` classes: every caller answers HTTP.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, ApiKey
from artnex import errors

from . import inspect, lifecycle, options, outcome, storage, waiting
from .ids import new_request_id
from .intake import ImageSource
from .models import UpscaleRequest
from .quota import QuotaExhausted, quota_exceeded
from .tasks import process_upscale

log = logging.getLogger(__name__)
FailureCode = UpscaleRequest.FailureCode
# When the account's queue is full: a queued job takes seconds on a GPU and minutes on a CPU,
# so a poll-style retry every half minute neither hammers the API nor waits much too long.
UNFINISHED_RETRY_AFTER_SECONDS = 30


def submit(
    *, account: Account, api_key: ApiKey | None = None, source: ImageSource, scale: float,
    model: str | None = None, request_id: str | None = None, idempotency_key: str | None = None,
    idempotency_record_id: int | None = None, webhook_url: str | None = None, width: int | None = None,
    height: int | None = None,
    output_format: str | None = None, wait_seconds: float | None = None,
) -> UpscaleRequest:
    """Check the image, charge the account and queue the upscale; returns the queued row.

    The quota is checked again under the account's lock (callers may check it earlier, before
    any download, to answer fast). The task is queued only once the row is committed.
    A ``width`` or ``height`` replaces ``scale``: the scale that gives it, once the size is known.
    ``wait_seconds``: how long the caller will wait for the result (None: nobody waits, the
    result is polled or sent to the webhook later). A job not started within it is refunded
    instead of run. A request with a webhook never gets a waiter's deadline: the webhook
    receives its result whether or not the caller is still there. ``idempotency_record_id``:
    the Idempotency-Key's record this request holds; it is charged only while it still does.
    """
    info = inspect.inspect_image(source.data)
    if width is not None or height is not None:
        scale = options.scale_for(width, height, info.width, info.height)
    output_size = inspect.check_output(info, scale)
    model_name = resolve_model(model)
    request_id = request_id or new_request_id()
    input_file = storage.save(storage.input_name(request_id), source.data)
    try:
        row, _ = lifecycle.create(
            request_id=request_id, account_id=account.pk, api_key=api_key, source=source, info=info,
            scale=scale, output_size=output_size, model=model_name, input_file=input_file,
            idempotency_key=idempotency_key, idempotency_record_id=idempotency_record_id, webhook_url=webhook_url,
            output_format=output_format or "",
            wait_deadline=None if wait_seconds is None or webhook_url
            else timezone.now() + timedelta(seconds=wait_seconds),
        )
    except BaseException as exc:
        storage.delete(input_file)  # nothing was recorded: the upload must not outlive the refusal
        refusal = _refusal(exc)
        if refusal is None:
            raise
        raise refusal from exc
    transaction.on_commit(partial(enqueue, request_id))
    return row


def _refusal(exc: BaseException) -> errors.ApiError | None:
    """The contract's answer to a refusal of :func:`lifecycle.create`, None for anything else."""
    if isinstance(exc, QuotaExhausted):
        return quota_exceeded(exc.quota)
    if isinstance(exc, lifecycle.TooManyUnfinished):
        return errors.RateLimitExceeded(
            f"This account already has {exc.limit} upscale jobs queued or processing, the most its plan allows: "
            "wait for some to finish.",
            headers={"Retry-After": str(UNFINISHED_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, lifecycle.KeyTakenOver):
        return errors.IdempotencyConflict("A retry with this Idempotency-Key took it over; this request was not "
                                          "charged.")
    if isinstance(exc, lifecycle.NotEnoughCredits):
        return errors.InsufficientCredits(f"This request costs {exc.price} credits; the balance is {exc.balance}.")
    return None


def resolve_model(name: str | None) -> str:
    return options.canonical_model(name)


def task_limits(wait_s: float) -> tuple[int, int]:
    """(soft, hard) time limits of a job, both inside its wait: past it, no one would receive
    the result. The soft limit leaves the task a tenth of the wait to fail cleanly."""
    hard = max(2, int(wait_s))
    return max(1, hard - max(1, hard // 10)), hard


def enqueue(request_id: str) -> None:
    """Queue the task; runs once the request row is committed, so the worker always finds it.

    Not ``delay_on_commit``: a broker that refuses the message must fail (and refund) the
    request here, and ``delay_on_commit`` gives no place to catch that. The task id is the
    request id, so that a waiter that gives up can revoke it by name.
    """
    deadline = UpscaleRequest.objects.filter(request_id=request_id).values_list("wait_deadline", flat=True).first()
    if deadline is None:  # nobody waits: the worker's configured limits
        soft, hard = settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.CELERY_TASK_TIME_LIMIT
    else:
        # Never beyond the configured limit either: the broker's visibility timeout is sized to
        # it, and a longer job would be handed to a second worker while it still runs.
        remaining = (deadline - timezone.now()).total_seconds()
        soft, hard = task_limits(min(remaining, settings.CELERY_TASK_TIME_LIMIT))
    try:
        process_upscale.apply_async((request_id,), task_id=request_id, soft_time_limit=soft, time_limit=hard)
    except Exception:
        log.exception("could not queue upscale %s", request_id)
        lifecycle.fail(request_id, FailureCode.SERVICE_UNAVAILABLE, "the task queue is unavailable")


def publish_again_if_queued(request_id: str) -> None:
    """Publish a still-queued job's task once more. The first request's process may have died
    between committing the row and publishing the task (:func:`enqueue` runs on commit), and
    then no message exists and no worker would ever run the charged job. A second message for a
    job that has one costs nothing: the worker's claim is conditional, so only one run takes
    the row, and the other finds it no longer queued."""
    if UpscaleRequest.objects.filter(request_id=request_id, status=UpscaleRequest.Status.QUEUED).exists():
        enqueue(request_id)


def wait_for_result(request_id: str, gone: threading.Event | None = None) -> UpscaleRequest:
    """:func:`upscale.waiting.wait_for_result` until the request's deadline (or
    ``ARTNEX_WAIT_SECONDS`` from now for a request submitted without one). A request with a
    webhook is not given up when its client hangs up: :class:`upscale.waiting.ClientLeft`."""
    deadline, webhook_url = UpscaleRequest.objects.values_list("wait_deadline", "webhook_url").get(
        request_id=request_id)
    deadline = deadline or timezone.now() + timedelta(seconds=settings.ARTNEX_WAIT_SECONDS)
    return waiting.wait_for_result(request_id, deadline, gone, give_up_when_gone=not webhook_url)


def wait(request_id: str, gone: threading.Event | None = None) -> UpscaleRequest:
    """The succeeded row, or the contract error for why it failed (saying where the credits are).
    ``gone``: set when the client disconnects (:func:`artnex.disconnect.client_gone`)."""
    row = wait_for_result(request_id, gone)
    if row.status != UpscaleRequest.Status.SUCCEEDED:
        raise outcome.failure(row)
    return row
