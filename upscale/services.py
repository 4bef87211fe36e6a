"""Submitting an upscale request and waiting for it: the one path every caller takes.

The API view, the portal's "Try it" and the async API all call :func:`submit`, so a request is
checked, charged, recorded and queued the same way whoever asks. Errors leave as the
contract's :class:`~artnex.errors.ApiError` classes: every caller answers HTTP.
"""

from __future__ import annotations

import logging
import time
from functools import partial

from django.conf import settings
from django.db import transaction

from accounts.models import Account, ApiKey
from artnex import errors

from . import inspect, lifecycle, options, storage
from .ids import new_request_id
from .intake import ImageSource
from .models import UpscaleRequest
from .quota import QuotaExhausted, quota_exceeded
from .tasks import process_upscale

log = logging.getLogger(__name__)
FailureCode = UpscaleRequest.FailureCode

# What a failed request answers, by the failure the worker (or the waiter) recorded.
FAILURE_ERRORS: dict[str, type[errors.ApiError]] = {
    FailureCode.UPSCALE_TIMEOUT: errors.UpscaleTimeout,
    FailureCode.SERVICE_UNAVAILABLE: errors.ServiceUnavailable,
    FailureCode.PROCESSING_FAILED: errors.ProcessingFailed,
}


def submit(
    *, account: Account, api_key: ApiKey | None = None, source: ImageSource, scale: float,
    model: str | None = None, request_id: str | None = None, idempotency_key: str | None = None,
    webhook_url: str | None = None, width: int | None = None, height: int | None = None,
    output_format: str | None = None,
) -> UpscaleRequest:
    """Check the image, charge the account and queue the upscale; returns the queued row.

    The quota is checked again under the account's lock (callers may check it earlier, before
    any download, to answer fast). The task is queued only once the row is committed.
    A ``width`` or ``height`` replaces ``scale``: the scale that gives it, once the size is known.
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
            idempotency_key=idempotency_key, webhook_url=webhook_url, output_format=output_format or "",
        )
    except QuotaExhausted as exc:
        storage.delete(input_file)
        raise quota_exceeded(exc.quota) from exc
    except lifecycle.NotEnoughCredits as exc:
        storage.delete(input_file)
        raise errors.InsufficientCredits(
            f"This request costs {exc.price} credits; the balance is {exc.balance}."
        ) from exc
    except BaseException:
        storage.delete(input_file)
        raise
    transaction.on_commit(partial(enqueue, request_id))
    return row


def resolve_model(name: str | None) -> str:
    return options.canonical_model(name)


def enqueue(request_id: str) -> None:
    """Queue the task; runs once the request row is committed, so the worker always finds it.

    Not ``delay_on_commit``: a broker that refuses the message must fail (and refund) the
    request here, and ``delay_on_commit`` gives no place to catch that.
    """
    try:
        process_upscale.delay(request_id)
    except Exception:
        log.exception("could not queue upscale %s", request_id)
        lifecycle.fail(request_id, FailureCode.SERVICE_UNAVAILABLE, "the task queue is unavailable")


def wait_for_result(request_id: str) -> UpscaleRequest:
    """Poll the row until it is terminal; past the deadline, fail it (refunding the credits).

    Polling starts fast (small images finish in well under a second) and backs off to keep
    the database quiet during long jobs.
    """
    deadline = time.monotonic() + settings.ARTNEX_WAIT_SECONDS
    delay = 0.05
    while True:
        row = UpscaleRequest.objects.get(request_id=request_id)
        if row.is_terminal:
            return row
        if time.monotonic() >= deadline:
            lifecycle.fail(request_id, FailureCode.UPSCALE_TIMEOUT, "no worker finished the request in time")
            return UpscaleRequest.objects.get(request_id=request_id)  # may have succeeded meanwhile
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.5)


def wait(request_id: str) -> UpscaleRequest:
    """The succeeded row, or the contract error for why it failed."""
    row = wait_for_result(request_id)
    if row.status != UpscaleRequest.Status.SUCCEEDED:
        raise FAILURE_ERRORS.get(row.error_code, errors.ProcessingFailed)()
    return row
