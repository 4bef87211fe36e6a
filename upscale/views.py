"""POST /v1/upscale."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django_ratelimit.core import is_ratelimited
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import ApiKey
from accounts.quota import QuotaState, quota_state

from . import errors, inspect, lifecycle, options, storage, submission
from .api_base import ApiView
from .idempotency import store as idempotency
from .idempotency.fingerprint import fingerprint
from .models import UpscaleRequest
from .results import base_url_for, failure_error, status_body, success_body
from .tasks import process_upscale
from .waiting import wait_for_result
from .webhooks import delivery as webhooks

log = logging.getLogger(__name__)
# Multipart framing around an upload: the body may exceed the image limit by this much.
_MULTIPART_OVERHEAD = 64 * 1024


def _burst_key(group: str, request: Any) -> str:
    return f"key:{request.auth.pk}"


def enqueue(request_id: str) -> None:
    """Runs once the request row is committed, so the worker always finds it."""
    try:
        process_upscale.delay(request_id)
    except Exception:
        log.exception("could not queue upscale %s", request_id)
        lifecycle.fail(request_id, "service_unavailable", "the task queue is unavailable")


class UpscaleView(ApiView):
    parser_classes = [JSONParser, MultiPartParser]

    @property
    def upscale_request_id(self) -> str:
        return self.api_request_id

    def post(self, request: Request) -> Response:
        api_key = cast(ApiKey, request.auth)
        multipart = request.content_type.startswith("multipart/")
        if multipart and int(request.META.get("CONTENT_LENGTH") or 0) > (
            settings.ARTNEX_MAX_INPUT_BYTES + _MULTIPART_OVERHEAD
        ):
            raise errors.ImageTooLarge("The request body is larger than the service accepts.")
        prefer_async = submission.prefers_async(request.headers.get("Prefer", ""))
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return self._upscale(request, api_key, multipart, prefer_async)
        print_ = fingerprint(request.data, respond_async=prefer_async)
        claimed = idempotency.claim(api_key.account_id, idempotency.check_key(key), print_)
        if isinstance(claimed, idempotency.Replay):
            return Response(claimed.body, status=claimed.status, headers={**claimed.headers,
                                                                          "Idempotent-Replayed": "true"})
        try:
            response = self._upscale(request, api_key, multipart, prefer_async)
        except BaseException:
            idempotency.release(claimed)
            raise
        idempotency.complete(claimed, response.status_code, response.data, dict(response.items()),
                             self.api_request_id)
        return response

    def _upscale(self, request: Request, api_key: ApiKey, multipart: bool, prefer_async: bool) -> Response:
        request_id = self.api_request_id
        self._check_limits(request, api_key)
        wanted = submission.parse(request.data, multipart=multipart, prefer_async=prefer_async)
        source = submission.read_source(wanted.image)
        info = inspect.inspect_image(source.data)
        scale = wanted.scale if wanted.scale is not None else options.scale_for(
            wanted.width, wanted.height, info.width, info.height)
        size = inspect.check_output(info, scale)
        base_url = base_url_for(request)
        input_file = storage.save(storage.input_name(request_id), source.data)
        try:
            with transaction.atomic():
                row, quota = lifecycle.create(
                    request_id=request_id, api_key=api_key, source=source, info=info, scale=scale,
                    output_size=size, model=wanted.model, input_file=input_file,
                    output_format=wanted.output_format or "",
                )
                if wanted.webhook_url:
                    webhooks.prepare(row, webhooks.Target(wanted.webhook_url, base_url))
                transaction.on_commit(partial(enqueue, request_id))
        except BaseException:
            storage.delete(input_file)
            raise
        if wanted.respond_async:
            return self._accepted(row, base_url, quota)
        row = wait_for_result(request_id)
        if row.status != UpscaleRequest.Status.SUCCEEDED:
            raise failure_error(row)
        return Response(success_body(row, base_url), headers=quota.headers())

    def _accepted(self, row: UpscaleRequest, base_url: str, quota: QuotaState) -> Response:
        row.refresh_from_db()
        body = status_body(row, base_url)
        return Response(body, status=202, headers={"Location": body["status_url"],
                                                   "Preference-Applied": "respond-async", **quota.headers()})

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
