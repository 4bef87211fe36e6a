"""GET and DELETE /v1/upscale/{request_id}: a request's status and result, for its owner."""

from __future__ import annotations

from typing import cast

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import ApiKey
from artnex import errors
from artnex.openapi import error_responses

from . import lifecycle, previews, storage
from .api_base import ApiView
from .models import UpscaleRequest
from .response_serializers import RequestStatusSerializer
from .results import base_url_for, status_body

_ERRORS = (errors.InvalidApiKey, errors.NotFound, errors.MethodNotAllowed, errors.InternalError)


def owned_request(request: Request, request_id: str) -> UpscaleRequest:
    """The account's request; anyone else's is indistinguishable from one that never existed."""
    account_id = cast(ApiKey, request.auth).account_id
    row = UpscaleRequest.objects.filter(request_id=request_id, account_id=account_id).first()
    if row is None:
        raise errors.NotFound("No upscale request with this id belongs to your account.")
    return row


class RequestStatusView(ApiView):
    @extend_schema(
        operation_id="upscale_status", summary="The status and result of a request",
        description="Any request of your account, synchronous ones included. Once succeeded, the fields of the "
        "synchronous answer; once failed, its error.",
        responses={200: RequestStatusSerializer, **error_responses(*_ERRORS)},
    )
    def get(self, request: Request, request_id: str) -> Response:
        row = owned_request(request, request_id)
        if row.status == UpscaleRequest.Status.SUCCEEDED and row.delivered_at is None and not (
            lifecycle.deliver(row.request_id)
        ):
            # This answer hands the link out, so it is recorded as delivered first (the stale
            # sweep then keeps the charge); it lost to the sweep: failed and refunded instead.
            row.refresh_from_db()
        return Response(status_body(row, base_url_for(request)))

    @extend_schema(
        operation_id="upscale_delete_result", summary="Delete the result now",
        description="Removes the result file at once instead of after 24 hours; the link answers 404 from then "
        "on and the request stays in the history. Credits are not refunded for a delivered result.",
        responses={200: RequestStatusSerializer, **error_responses(*_ERRORS, errors.RequestInProgress)},
    )
    def delete(self, request: Request, request_id: str) -> Response:
        row = owned_request(request, request_id)
        if not row.is_terminal:
            raise errors.RequestInProgress()
        if row.purged_at is None and UpscaleRequest.objects.filter(pk=row.pk, purged_at__isnull=True).update(
            purged_at=timezone.now()
        ):
            storage.delete(row.result_file)
            previews.delete_preview(row.request_id)  # the portal's copy of the input goes with it
        row.refresh_from_db()
        return Response(status_body(row, base_url_for(request)))
