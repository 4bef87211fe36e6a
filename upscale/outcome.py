"""The answer to a finished upscale request: the result link, or an error that says truthfully
what happened to the credits. A link is handed out only if it can be built; any failure on the
way refunds the request, so no one pays for a result they never received."""

from __future__ import annotations

import logging
from typing import Any

from artnex import errors
from billing.models import LedgerEntry

from . import lifecycle
from .models import UpscaleRequest
from .serializers import UpscaleResultSerializer

log = logging.getLogger(__name__)

FailureCode = UpscaleRequest.FailureCode
# What a failed request answers, by the failure the worker (or the waiter) recorded: the
# contract's error and what it says happened (the credits' fate is added from the ledger).
_FAILURES: dict[str, tuple[type[errors.ApiError], str]] = {
    FailureCode.UPSCALE_TIMEOUT: (errors.UpscaleTimeout, "The upscale did not finish in time."),
    FailureCode.SERVICE_UNAVAILABLE: (errors.ServiceUnavailable, "The upscale service is temporarily unavailable."),
    FailureCode.PROCESSING_FAILED: (errors.ProcessingFailed, "The upscale failed on our side."),
    FailureCode.INTERNAL_ERROR: (errors.InternalError, "An unexpected error occurred while answering."),
}


def credits_note(request_id: str) -> str:
    """What happened to this request's credits, from the ledger (the single source of truth)."""
    entries = dict(
        LedgerEntry.objects.filter(request_id=request_id).values_list("kind", "amount")
    )
    charged = -entries.get(LedgerEntry.Kind.CHARGE, 0)
    if not charged:
        return "No credits were charged."
    if LedgerEntry.Kind.REFUND in entries:
        return f"The {charged} credits charged for it were refunded."
    return f"{charged} credits were charged."  # not reached for a failed request: fail() refunds


def failure(row: UpscaleRequest) -> errors.ApiError:
    """The contract error of a failed request, its message saying truthfully where the credits are."""
    error, summary = _FAILURES.get(row.error_code, _FAILURES[FailureCode.PROCESSING_FAILED])
    return error(f"{summary} {credits_note(row.request_id)}")


def deliver(row: UpscaleRequest, base_url: str) -> dict[str, Any]:
    """The success body of a succeeded request, recorded as delivered before it leaves. If it
    cannot be built (a storage presign error, a bug), the request is refunded and the error says so."""
    try:
        body = dict(UpscaleResultSerializer(row, context={"base_url": base_url}).data)
    except Exception as exc:
        log.exception("could not build the answer for upscale %s", row.request_id)
        lifecycle.abandon(row.request_id, FailureCode.INTERNAL_ERROR, "the result link could not be built")
        raise failure(_reread(row)) from exc
    if not lifecycle.deliver(row.request_id):
        # Abandoned in the meantime (the stale sweep): refunded, and the result is gone.
        raise failure(_reread(row))
    return body


def _reread(row: UpscaleRequest) -> UpscaleRequest:
    return UpscaleRequest.objects.get(pk=row.pk)
