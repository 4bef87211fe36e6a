"""POST /v1/upscale.

Two halves, so that waiting costs the server nothing (docs/architecture.md, "Slow clients and
long waits"): :class:`UpscaleView` (DRF, run in the request's own thread) authenticates,
checks the limits, reads the image, charges and queues the job; :func:`upscale` (an async
view) then waits for the worker on the event loop and answers.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from functools import partial
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from accounts.quota import QuotaState, quota_state

from . import burst, errors, in_flight, inspect, intake, lifecycle, outcome, storage
from .ids import attach, new_request_id
from .runtime import default_model
from .tasks import process_upscale
from .waiting import give_up, wait_for_result

log = logging.getLogger(__name__)
_burst_key = burst.burst_key  # the integration tier keys its counter read the same way


def task_limits(wait_s: float) -> tuple[int, int]:
    """(soft, hard) time limits of the job, both inside the wait: past it, no one would
    receive the result. The soft limit leaves the task a tenth of the wait to fail cleanly."""
    hard = max(2, int(wait_s))
    return max(1, hard - max(1, hard // 10)), hard


def enqueue(request_id: str, deadline_s: float) -> None:
    """Runs once the request row is committed, so the worker always finds it."""
    soft, hard = task_limits(deadline_s)
    try:
        # The task id is the request id, so a waiter that gives up can revoke it by name.
        process_upscale.apply_async((request_id,), task_id=request_id, soft_time_limit=soft, time_limit=hard)
    except Exception:
        log.exception("could not queue upscale %s", request_id)
        lifecycle.fail(request_id, "service_unavailable", "the task queue is unavailable")


class Accepted(Response):
    """The charged, queued request handed from the DRF half to the waiting half."""

    def __init__(self, request_id: str, quota: QuotaState, slot: in_flight.Slot, deadline: Any) -> None:
        super().__init__(status=202)
        self.request_id, self.quota, self.slot, self.deadline = request_id, quota, slot, deadline


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
        # ApiKeyAuthentication is the only authentication class, and IsAuthenticated let us in.
        api_key = cast(ApiKey, request.auth)
        self._check_limits(request, api_key)
        image, scale = intake.parse_body(request.data)
        # Held from here (before any download) until the answer is sent: see upscale.in_flight.
        slot = in_flight.acquire(api_key.account_id, api_key.account.plan.max_in_flight)
        try:
            return self._accept(request, api_key, image, scale, slot)
        except BaseException:
            slot.release()
            raise

    def _accept(self, request: Request, api_key: ApiKey, image: Any, scale: float, slot: in_flight.Slot) -> Accepted:
        request_id = self.upscale_request_id
        try:
            source = intake.read_image(image)
        except errors.ApiError:
            if isinstance(image, str) and image.strip()[:4].lower() == "http":
                burst.count_failed_fetch(request)
            raise
        info = inspect.inspect_image(source.data)
        size = inspect.check_output(info, scale)
        input_file = storage.save(storage.input_name(request_id), source.data)
        wait_s = settings.ARTNEX_WAIT_SECONDS
        deadline = timezone.now() + timedelta(seconds=wait_s)
        try:
            _, quota = lifecycle.create(
                request_id=request_id, api_key=api_key, source=source, info=info, scale=scale,
                output_size=size, model=default_model(), input_file=input_file, wait_deadline=deadline,
            )
        except BaseException:
            storage.delete(input_file)
            raise
        try:
            transaction.on_commit(partial(enqueue, request_id, wait_s))
            return Accepted(request_id, quota, slot, deadline)
        except BaseException:
            lifecycle.fail(request_id, "internal_error", "the request could not be queued")
            raise

    def _check_limits(self, request: Request, api_key: ApiKey) -> None:
        # A cheap early answer before any download; lifecycle.create re-checks under the lock.
        quota = quota_state(api_key.account)
        if quota.exhausted:
            raise errors.RateLimitExceeded(
                headers={"Retry-After": str(quota.retry_after_seconds()), **quota.headers()}
            )
        burst.check(request)


_accept = UpscaleView.as_view()


@csrf_exempt
async def upscale(request: HttpRequest) -> HttpResponseBase:
    response = await sync_to_async(_accept)(request)
    if not isinstance(response, Accepted):
        return cast(HttpResponseBase, response)
    request_id = response.request_id
    try:
        try:
            row = await wait_for_result(request_id, response.deadline)
        except asyncio.CancelledError:
            # The client (or a proxy) hung up: no one will receive the link. Shielded, so the
            # refund completes even though this task is being cancelled.
            await asyncio.shield(sync_to_async(give_up)(request_id, "upscale_timeout", "the client disconnected"))
            raise
        return await sync_to_async(outcome.answer)(request, row, response.quota.headers())
    except asyncio.CancelledError:
        raise
    except Exception:
        # A bug after the charge: refund (a no-op if already failed), then Django's 500 handler.
        await sync_to_async(give_up)(request_id, "internal_error", "the answer could not be built")
        raise
    finally:
        await sync_to_async(response.slot.release)()
