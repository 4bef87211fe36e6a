"""POST /v1/upscale: parse, submit, wait, render.

Two halves, so that waiting costs the server nothing (docs/architecture.md, "Slow clients and
long waits"): :class:`UpscaleView` (DRF, run by Django in a thread of this request's own)
authenticates, checks the limits, reads the image and submits (charge, queue); :func:`upscale`,
an async view, then waits for the worker on the event loop and answers.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from artnex import errors
from artnex.ids import attach
from artnex.openapi import error_responses, response_headers

from . import in_flight, lifecycle, limits, outcome, services
from .ids import new_request_id
from .models import UpscaleRequest
from .quota import QuotaState, quota_state
from .serializers import UpscaleInputSerializer, UpscaleResultSerializer
from .waiting import give_up, wait_for_result

FailureCode = UpscaleRequest.FailureCode


class Accepted(Response):
    """The charged, queued request, handed from the DRF half to the waiting half."""

    def __init__(self, row: UpscaleRequest, quota: QuotaState, slot: in_flight.Slot) -> None:
        super().__init__(status=202)
        assert row.wait_deadline is not None
        self.request_id: str = row.request_id
        self.deadline: datetime = row.wait_deadline
        self.quota, self.slot = quota, slot


class UpscaleView(APIView):
    request_id: str

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Minted before authentication so that even a 401 carries a request id; kept on the
        # Django request too, where the 500 handler finds it.
        self.request_id = new_request_id()
        attach(request, self.request_id)
        attach(request._request, self.request_id)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="upscale",
        summary="Upscale an image",
        description="Waits for the result (up to ARTNEX_WAIT_SECONDS) and answers a link to it. "
        "Requests refused with 4xx are never charged; 5xx failures are refunded, and a client that "
        "disconnects before the answer is refunded too.",
        request=UpscaleInputSerializer,
        responses={
            200: UpscaleResultSerializer,
            **error_responses(
                errors.MissingImage, errors.InvalidImageFormat, errors.ImageTooLarge, errors.InvalidScale,
                errors.InvalidRequest, errors.InvalidApiKey, errors.InsufficientCredits,
                errors.MethodNotAllowed, errors.RateLimitExceeded, errors.ProcessingFailed, errors.InternalError,
                errors.ServiceUnavailable, errors.UpscaleTimeout,
            ),
        },
        parameters=response_headers(),
    )
    def post(self, request: Request) -> Response:
        api_key = cast(ApiKey, request.auth)  # ApiKeyAuthentication is the only way past IsAuthenticated
        limits.check(request, api_key)
        body = UpscaleInputSerializer(data=request.data).validated()
        # Held from here (before any download) until the answer is sent: see upscale.in_flight.
        slot = in_flight.acquire(api_key.account_id, api_key.account.plan.max_in_flight)
        try:
            source = limits.read_image_counting_failures(request, body["image"])
            row = services.submit(account=api_key.account, api_key=api_key, source=source, scale=body["scale"],
                                  request_id=self.request_id, wait_seconds=settings.ARTNEX_WAIT_SECONDS)
        except BaseException:
            slot.release()
            raise
        try:
            return Accepted(row, quota_state(api_key.account), slot)
        except BaseException:
            slot.release()
            lifecycle.fail(row.request_id, FailureCode.INTERNAL_ERROR, "the request could not be handed on")
            raise


_accept = UpscaleView.as_view()


@csrf_exempt
async def upscale(request: HttpRequest) -> HttpResponseBase:
    accepting = asyncio.ensure_future(sync_to_async(_accept)(request))
    try:
        response = await asyncio.shield(accepting)
    except asyncio.CancelledError:
        await _give_up_once_accepted(accepting)
        raise
    if not isinstance(response, Accepted):
        return cast(HttpResponseBase, response)
    request_id = response.request_id
    try:
        try:
            row = await wait_for_result(request_id, response.deadline)
        except asyncio.CancelledError:
            # The client (or a proxy) hung up: no one will receive the link. Shielded, so the
            # refund completes although this task is being cancelled.
            await asyncio.shield(sync_to_async(give_up)(request_id, FailureCode.UPSCALE_TIMEOUT,
                                                        "the client disconnected"))
            raise
        return await sync_to_async(outcome.answer)(request, row, response.quota.headers())
    except asyncio.CancelledError:
        raise
    except Exception:
        # A bug after the charge: refund (a no-op if already failed), then Django's 500 handler.
        await sync_to_async(give_up)(request_id, FailureCode.INTERNAL_ERROR, "the answer could not be built")
        raise
    finally:
        await sync_to_async(response.slot.release)()


async def _give_up_once_accepted(accepting: asyncio.Future[Any]) -> None:
    """The client hung up while the DRF half ran (downloading the image, charging). Django's
    thread cannot be interrupted, so let it finish; if it accepted the request, give it up at
    once (refunded, revoked, never run) rather than leave it to the stale sweep."""
    response = await accepting
    if isinstance(response, Accepted):
        try:
            await sync_to_async(give_up)(response.request_id, FailureCode.UPSCALE_TIMEOUT, "the client disconnected")
        finally:
            await sync_to_async(response.slot.release)()


# drf-spectacular (and anything else that looks for the DRF view behind a URL) finds it here.
upscale.cls = UpscaleView  # type: ignore[attr-defined]
upscale.initkwargs = {}  # type: ignore[attr-defined]
