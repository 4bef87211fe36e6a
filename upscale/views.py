"""POST /v1/upscale: parse, submit, wait, render."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from artnex import errors
from artnex.ids import attach, bound
from artnex.openapi import error_responses, response_headers

from . import intake, limits, services
from .ids import new_request_id
from .quota import quota_state
from .serializers import UpscaleInputSerializer, UpscaleResultSerializer


class UpscaleView(APIView):
    request_id: str

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Minted before authentication so that even a 401 carries a request id; kept on the
        # Django request, where the error handlers find it, and bound for the log lines and
        # the task this request queues.
        self.request_id = new_request_id()
        attach(request, self.request_id)
        with bound(self.request_id):
            return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        operation_id="upscale",
        summary="Upscale an image",
        description="Waits for the result (up to ARTNEX_WAIT_SECONDS) and answers a link to it. "
        "Requests refused with 4xx are never charged; 5xx failures are refunded.",
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
        source = intake.read_image(body["image"])
        row = services.submit(account=api_key.account, api_key=api_key, source=source, scale=body["scale"],
                              request_id=self.request_id)
        row = services.wait(row.request_id)
        base_url = settings.ARTNEX_PUBLIC_URL or request.build_absolute_uri("/")
        result = UpscaleResultSerializer(row, context={"base_url": base_url}).data
        return Response(result, headers=quota_state(api_key.account).headers())
