"""What a client reads about a request: the synchronous success body, and the status body
that GET /v1/upscale/{id}, the 202 answer and webhooks share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from artnex import errors

from .models import UpscaleRequest
from .serializers import UpscaleResultSerializer

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
    return dict(UpscaleResultSerializer(row, context={"base_url": base_url}).data)


def status_body(row: UpscaleRequest, base_url: str) -> dict[str, Any]:
    """Where a request stands; once terminal, the same fields as the synchronous answer."""
    common = {"request_id": row.request_id, "status": row.status, "status_url": status_url(row, base_url),
              "created_at": iso(row.created_at), "finished_at": iso(row.finished_at)}
    if row.status == Status.FAILED:
        failure = failure_error(row)
        return {**errors.error_body(failure.code, failure.message, row.request_id), **common}
    if row.status != Status.SUCCEEDED:
        return {"success": True, **common}
    if row.purged_at is None:
        return {**success_body(row, base_url), **common}
    # Deleted by the customer or past its 24 hours: the request is still theirs to see.
    return {**_success_fields(row), **common, "image_url": None, "result_deleted_at": iso(row.purged_at)}


def _success_fields(row: UpscaleRequest) -> dict[str, Any]:
    return {"success": True, "credits_used": row.credits_charged, "expires_at": iso(row.expires_at),
            "width": row.output_width, "height": row.output_height, "scale": row.scale, "model": row.model,
            "output_format": row.output_format.lower()}


def failure_error(row: UpscaleRequest) -> errors.ApiError:
    """The contract error a failed request answers (the recorded message may be internal), its
    message saying truthfully where the credits are (refunded, or never charged)."""
    # Imported when called: outcome → lifecycle → webhooks → this module at import time.
    from .outcome import failure

    return failure(row)
