"""GET and DELETE /v1/upscale/{request_id}: a request's status and result, for its owner."""

from __future__ import annotations

from typing import cast

from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import ApiKey

from . import storage
from .api_base import ApiView
from .errors import ApiError, NotFound
from .models import UpscaleRequest
from .results import base_url_for, status_body


class RequestInProgress(ApiError):
    status = 409
    code = "request_in_progress"
    default_message = "The request is still running; delete its result once it has finished."


def owned_request(request: Request, request_id: str) -> UpscaleRequest:
    """The account's request; anyone else's is indistinguishable from one that never existed."""
    account_id = cast(ApiKey, request.auth).account_id
    row = UpscaleRequest.objects.filter(request_id=request_id, account_id=account_id).first()
    if row is None:
        raise NotFound("No upscale request with this id belongs to your account.")
    return row


class RequestStatusView(ApiView):
    def get(self, request: Request, request_id: str) -> Response:
        row = owned_request(request, request_id)
        return Response(status_body(row, base_url_for(request)))

    def delete(self, request: Request, request_id: str) -> Response:
        """Remove the result now, not in 24 hours: the link answers 404 from this moment."""
        row = owned_request(request, request_id)
        if not row.is_terminal:
            raise RequestInProgress()
        if row.purged_at is None and UpscaleRequest.objects.filter(pk=row.pk, purged_at__isnull=True).update(
            purged_at=timezone.now()
        ):
            storage.delete(row.result_file)
        row.refresh_from_db()
        return Response(status_body(row, base_url_for(request)))
