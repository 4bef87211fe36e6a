"""The answer to a finished upscale request: the result link, or an error that says truthfully
what happened to the credits. A link is handed out only if it can be built; any failure on the
way refunds the request, so no one pays for a result they never received."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from billing.models import LedgerEntry

from . import errors, lifecycle, storage
from .models import UpscaleRequest

log = logging.getLogger(__name__)

# Errors the worker (or the waiter) records, as the client sees them.
_FAILURES: dict[str, tuple[type[errors.ApiError], str]] = {
    "upscale_timeout": (errors.UpscaleTimeout, "The upscale did not finish in time."),
    "service_unavailable": (errors.ServiceUnavailable, "The upscale service is temporarily unavailable."),
    "processing_failed": (errors.ProcessingFailed, "The upscale failed on our side."),
    "internal_error": (errors.InternalError, "An unexpected error occurred while answering."),
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
    error_class, summary = _FAILURES.get(row.error_code, _FAILURES["processing_failed"])
    return error_class(f"{summary} {credits_note(row.request_id)}")


def answer(request: HttpRequest, row: UpscaleRequest, headers: dict[str, str]) -> JsonResponse:
    """Render a terminal request; the success link is recorded as delivered before it leaves."""
    if row.status != UpscaleRequest.Status.SUCCEEDED:
        return errors.error_response(failure(row), row.request_id)
    try:
        body = success_body(request, row)
    except Exception:
        log.exception("could not build the answer for upscale %s", row.request_id)
        lifecycle.abandon(row.request_id, "internal_error", "the result link could not be built")
        return errors.error_response(failure(_reread(row)), row.request_id)
    if not lifecycle.deliver(row.request_id):
        # Abandoned in the meantime (the stale sweep): refunded, and the result is gone.
        return errors.error_response(failure(_reread(row)), row.request_id)
    response = JsonResponse(body)
    for name, value in headers.items():
        response[name] = value
    return response


def _reread(row: UpscaleRequest) -> UpscaleRequest:
    return UpscaleRequest.objects.get(pk=row.pk)


def success_body(request: HttpRequest, row: UpscaleRequest) -> dict[str, Any]:
    base_url = settings.ARTNEX_PUBLIC_URL or request.build_absolute_uri("/")
    assert row.expires_at is not None
    return {
        "success": True,
        "image_url": storage.result_url(row.request_id, row.result_file, row.expires_at, base_url),
        "request_id": row.request_id,
        "credits_used": row.credits_charged,
        "expires_at": row.expires_at.isoformat().replace("+00:00", "Z"),
        "width": row.output_width,
        "height": row.output_height,
        "scale": row.scale,
        "model": row.model,
    }
