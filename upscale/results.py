"""What a client reads about a request: the synchronous success body, and the status body
that GET /v1/upscale/{id}, the 202 answer and webhooks share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from . import errors, storage
from .models import UpscaleRequest

Status = UpscaleRequest.Status


def base_url_for(request: Any) -> str:
    """The public root that links are built on: configured, or the host the client called."""
    return settings.ARTNEX_PUBLIC_URL or request.build_absolute_uri("/")


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def status_url(row: UpscaleRequest, base_url: str) -> str:
    path = reverse("upscale:request-status", kwargs={"request_id": row.request_id})
    return f"{base_url.rstrip('/')}{path}"


def success_body(row: UpscaleRequest, base_url: str) -> dict[str, Any]:
    """The contract's 200 body, with the documented additions."""
    assert row.expires_at is not None
    return {
        "success": True,
        "image_url": storage.result_url(row.request_id, row.result_file, row.expires_at, base_url),
        "request_id": row.request_id,
        "credits_used": row.credits_charged,
        "expires_at": iso(row.expires_at),
        "width": row.output_width,
        "height": row.output_height,
        "scale": row.scale,
        "model": row.model,
        "output_format": _format_name(row.output_format),
    }


def status_body(row: UpscaleRequest, base_url: str) -> dict[str, Any]:
    """Where a request stands; once terminal, the same fields as the synchronous answer."""
    common = {"request_id": row.request_id, "status": row.status, "status_url": status_url(row, base_url),
              "created_at": iso(row.created_at), "finished_at": iso(row.finished_at)}
    if row.status == Status.FAILED:
        failure = failure_error(row)
        return {**errors.error_body(failure.code, failure.message, row.request_id), **common}
    if row.status == Status.SUCCEEDED:
        if row.purged_at is not None:
            # Deleted by the customer or past its 24 hours: the request is still theirs to see.
            return {"success": True, **common, "image_url": None, "result_deleted_at": iso(row.purged_at),
                    "credits_used": row.credits_charged, "expires_at": iso(row.expires_at),
                    "width": row.output_width, "height": row.output_height, "scale": row.scale, "model": row.model,
                    "output_format": _format_name(row.output_format)}
        return {**success_body(row, base_url), **common}
    return {"success": True, **common}


# Errors the worker records, as the client sees them (the recorded message may be internal).
_FAILURES: dict[str, type[errors.ApiError]] = {
    "upscale_timeout": errors.UpscaleTimeout,
    "service_unavailable": errors.ServiceUnavailable,
    "processing_failed": errors.ProcessingFailed,
}


def failure_error(row: UpscaleRequest) -> errors.ApiError:
    return _FAILURES.get(row.error_code, errors.ProcessingFailed)()


def _format_name(fmt: str) -> str | None:
    return {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}.get(fmt.upper()) if fmt else None
