"""POST /v1/upscale: parse, submit, then wait and render (or answer 202 at once).

The view runs in its request's own thread under the ASGI server, so neither a slow image
download nor the wait for the worker takes anything from other requests; the URL wraps it
in :func:`artnex.disconnect.disconnect_aware`, so the wait ends when the client hangs up
(docs/architecture.md, "Slow clients and long waits").
"""

from __future__ import annotations

import logging
from typing import Any, cast

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Account, ApiKey
from artnex import errors
from artnex.disconnect import client_gone
from artnex.json_parser import JSONParser
from artnex.openapi import error_responses, response_headers

from . import in_flight, limits, outcome, services, submission
from .api_base import ApiView
from .idempotency import guard as idempotency
from .models import UpscaleRequest
from .quota import quota_state
from .response_serializers import RequestStatusSerializer, UpscaleUploadSerializer
from .results import base_url_for, status_body
from .serializers import UpscaleInputSerializer, UpscaleResultSerializer
from .waiting import ClientLeft, give_up
from .webhooks import delivery as webhooks

log = logging.getLogger(__name__)

FailureCode = UpscaleRequest.FailureCode

_REQUEST_HEADERS = [
    OpenApiParameter(idempotency.HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER,
                     description="Makes retries safe: the same key and body within 24 hours answer the first "
                     "response, charged once; another body is 409 idempotency_conflict."),
    OpenApiParameter("Prefer", OpenApiTypes.STR, OpenApiParameter.HEADER,
                     description="respond-async: answer 202 at once, as \"async\": true does."),
]

# A real 8x8 PNG: an example a client (or the schema fuzzer) can send as it is.
EXAMPLE_IMAGE = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAGUlEQVR42mNkYGhQYGDARCwMCgxYweC"
                 "UAABobwJednxjlwAAAABJRU5ErkJggg==")
_EXAMPLES = [
    OpenApiExample("An image URL", value={"image": "https://example.com/product-photo.jpg", "scale": 4},
                   request_only=True, media_type="application/json"),
    OpenApiExample("A data URI", value={"image": EXAMPLE_IMAGE, "scale": 2}, request_only=True,
                   media_type="application/json"),
    OpenApiExample("Async, by width, as WebP", value={"image": EXAMPLE_IMAGE, "width": 24, "output_format": "webp",
                                                       "async": True},
                   request_only=True, media_type="application/json"),
]


class UpscaleView(ApiView):
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        operation_id="upscale",
        summary="Upscale an image",
        description="Waits for the result (up to ARTNEX_WAIT_SECONDS) and answers a link to it, or with "
        "\"async\": true (Prefer: respond-async) answers 202 with a status_url at once. "
        "Requests refused with 4xx are never charged; 5xx failures are refunded, and so is a waiting "
        "request whose client disconnects before the answer (one with a webhook_url runs on for its webhook).",
        request={"application/json": UpscaleInputSerializer, "multipart/form-data": UpscaleUploadSerializer},
        responses={
            200: UpscaleResultSerializer,
            202: RequestStatusSerializer,
            **error_responses(
                errors.MissingImage, errors.InvalidImageFormat, errors.ImageTooLarge, errors.InvalidScale,
                errors.InvalidRequest, errors.InvalidModel, errors.InvalidOutputFormat, errors.InvalidWebhookUrl,
                errors.InvalidApiKey, errors.InsufficientCredits, errors.MethodNotAllowed,
                errors.IdempotencyConflict, errors.RateLimitExceeded, errors.ProcessingFailed,
                errors.InternalError, errors.ServiceUnavailable, errors.UpscaleTimeout,
            ),
        },
        parameters=[*_REQUEST_HEADERS, *response_headers()],
        examples=_EXAMPLES,
    )
    def post(self, request: Request) -> Response:
        api_key = cast(ApiKey, request.auth)  # ApiKeyAuthentication is the only way past IsAuthenticated
        multipart = request.content_type.startswith("multipart/")
        if multipart:
            submission.check_multipart_size(request.META.get("CONTENT_LENGTH"))
        prefer_async = submission.prefers_async(request.headers.get("Prefer", ""))
        return idempotency.respond(request, api_key.account_id, respond_async=prefer_async,
                                   run=lambda record_id: self._upscale(request, api_key, multipart, prefer_async,
                                                                       record_id),
                                   resume=lambda request_id: self._resume(request, api_key, request_id))

    def _upscale(self, request: Request, api_key: ApiKey, multipart: bool, prefer_async: bool,
                 idempotency_record_id: int | None) -> Response:
        limits.check(request, api_key)
        data: Any = submission.as_json_body(request.data) if multipart else request.data
        body = UpscaleInputSerializer(data=data).validated()
        respond_async = body["async"] if "async" in data else prefer_async
        account = api_key.account
        base_url = base_url_for(request)
        # Held from before the download until the answer: see upscale.in_flight.
        with in_flight.slot(account.pk, account.plan.max_in_flight):
            source = limits.read_image_counting_failures(request, body["image"])
            row = services.submit(
                account=account, api_key=api_key, source=source, scale=body["scale"],
                width=body.get("width"), height=body.get("height"), model=body.get("model"),
                output_format=body.get("output_format"), request_id=self.request_id,
                idempotency_key=request.headers.get(idempotency.HEADER), idempotency_record_id=idempotency_record_id,
                webhook_url=body.get("webhook_url"),
                # Only a caller that waits has a deadline: an async job's result is polled later.
                wait_seconds=None if respond_async else settings.ARTNEX_WAIT_SECONDS,
            )
            if body.get("webhook_url"):
                webhooks.prepare(row, webhooks.Target(body["webhook_url"], base_url))
            if respond_async:
                return _accepted(row, base_url, account, unless_failed=True)
            return _waited(request, row, account, base_url)

    def _resume(self, request: Request, api_key: ApiKey, request_id: str) -> Response:
        """An Idempotency-Key retry of a request whose upscale is recorded but was never
        answered (the web process died while its client waited): wait for that upscale and
        answer it, charged once. No new charge, so no limits or in-flight slot either."""
        services.publish_again_if_queued(request_id)
        row = UpscaleRequest.objects.get(request_id=request_id)
        account, base_url = api_key.account, base_url_for(request)
        if row.wait_deadline is None:  # async, or a webhook's: the first answer was the 202
            return _accepted(row, base_url, account, unless_failed=True)
        return _waited(request, row, account, base_url)


def _waited(request: Request, row: UpscaleRequest, account: Account, base_url: str) -> Response:
    """Wait for the upscale, then hand its result out, or answer why it failed (refunded)."""
    try:
        row = services.wait(row.request_id, gone=client_gone(request))
        # Everything the answer needs is built before the delivery is recorded: past
        # that point a failure could no longer be refunded (a charge without a result).
        headers = quota_state(account).headers()
        result = outcome.deliver(row, base_url)
    except ClientLeft:
        # Nobody reads this answer; an Idempotency-Key retry replays it: where to poll.
        return _accepted(row, base_url, account)
    except Exception as exc:
        # Whatever went wrong after the charge, nothing was handed out: refund (a no-op
        # for a request already failed and refunded). A dying process (SystemExit) is
        # left to the stale sweep, as a killed one must be.
        give_up(row.request_id, FailureCode.INTERNAL_ERROR, "the answer could not be built")
        if isinstance(exc, errors.ApiError):
            raise
        # A bug or an outage, not a contract error: answer the contract's 500 with what
        # became of the credits (the generic 500 cannot know).
        log.exception("could not answer upscale %s", row.request_id)
        raise outcome.failure(UpscaleRequest.objects.get(request_id=row.request_id)) from exc
    return Response(result, headers=headers)


def _accepted(row: UpscaleRequest, base_url: str, account: Account, *, unless_failed: bool = False) -> Response:
    """The 202 answer: where the request stands and where to poll it.

    ``unless_failed``: a job that failed before its 202 was sent (the queue refused it on
    commit: failed and refunded at once) is answered its contract error, as a synchronous
    request is. A 202 would claim it was accepted, and its Idempotency-Key would replay that
    refunded failure for 24 hours instead of letting the client's retry do the work."""
    row.refresh_from_db()
    if unless_failed and row.status == UpscaleRequest.Status.FAILED:
        raise outcome.failure(row)
    accepted = status_body(row, base_url)
    return Response(accepted, status=202, headers={
        "Location": accepted["status_url"], "Preference-Applied": "respond-async",
        **quota_state(account).headers(),
    })
