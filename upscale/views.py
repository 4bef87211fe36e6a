"""POST /v1/upscale."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django_ratelimit.core import is_ratelimited
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from accounts.quota import quota_state

from . import errors, inspect, intake, lifecycle, storage
from .ids import attach, new_request_id
from .models import UpscaleRequest
from .runtime import default_model
from .tasks import process_upscale
from .waiting import wait_for_result

log = logging.getLogger(__name__)

# Errors the worker records, as the client sees them.
_FAILURES: dict[str, type[errors.ApiError]] = {
    "upscale_timeout": errors.UpscaleTimeout,
    "service_unavailable": errors.ServiceUnavailable,
    "processing_failed": errors.ProcessingFailed,
}


def _burst_key(group: str, request: Any) -> str:
    return f"key:{request.auth.pk}"


def enqueue(request_id: str) -> None:
    """Runs once the request row is committed, so the worker always finds it."""
    try:
        process_upscale.delay(request_id)
    except Exception:
        log.exception("could not queue upscale %s", request_id)
        lifecycle.fail(request_id, "service_unavailable", "the task queue is unavailable")


class UpscaleView(APIView):
    upscale_request_id: str

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Minted before authentication so that even a 401 carries a request id; kept on the
        # Django request too, where the 500 handler finds it.
        self.upscale_request_id = new_request_id()
        attach(request, self.upscale_request_id)
        attach(request._request, self.upscale_request_id)
        super().initial(request, *args, **kwargs)

    def post(self, request: Request) -> Response:
        request_id = self.upscale_request_id
        # ApiKeyAuthentication is the only authentication class, and IsAuthenticated let us in.
        api_key = cast(ApiKey, request.auth)
        self._check_limits(request, api_key)
        image, scale = intake.parse_body(request.data)
        source = intake.read_image(image)
        info = inspect.inspect_image(source.data)
        size = inspect.check_output(info, scale)
        input_file = storage.save(storage.input_name(request_id), source.data)
        try:
            row, quota = lifecycle.create(
                request_id=request_id, api_key=api_key, source=source, info=info, scale=scale,
                output_size=size, model=default_model(), input_file=input_file,
            )
            transaction.on_commit(partial(enqueue, request_id))
        except BaseException:
            storage.delete(input_file)
            raise
        row = wait_for_result(request_id)
        if row.status != UpscaleRequest.Status.SUCCEEDED:
            raise _FAILURES.get(row.error_code, errors.ProcessingFailed)()
        return Response(self._success_body(request, row), headers=quota.headers())

    def _check_limits(self, request: Request, api_key: ApiKey) -> None:
        # A cheap early answer before any download; lifecycle.create re-checks under the lock.
        quota = quota_state(api_key.account)
        if quota.exhausted:
            raise errors.RateLimitExceeded(
                headers={"Retry-After": str(quota.retry_after_seconds()), **quota.headers()}
            )
        if is_ratelimited(request, group="upscale-burst", key=_burst_key, rate=settings.ARTNEX_BURST_RATE,
                          increment=True):
            raise errors.RateLimitExceeded(
                "Too many requests in a short time: slow down.", headers={"Retry-After": "60"}
            )

    def _success_body(self, request: Request, row: UpscaleRequest) -> dict[str, Any]:
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
