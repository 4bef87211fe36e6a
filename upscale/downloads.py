"""Serving results from local storage behind signed, expiring links."""

from __future__ import annotations

import time

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.http import require_GET

from . import storage
from .engine import FORMATS
from .models import UpscaleRequest

_CONTENT_TYPES = {extension: media_type for media_type, extension in FORMATS.values()}


@require_GET
def download_result(request: HttpRequest, request_id: str, filename: str) -> HttpResponseBase:
    try:
        expires = int(request.GET.get("expires", ""))
    except ValueError:
        raise Http404("No such result.") from None
    name = storage.result_name(request_id, filename.rsplit(".", 1)[-1])
    if filename != name.rsplit("/", 1)[-1] or not storage.signature_valid(
        name, expires, request.GET.get("signature", "")
    ):
        raise Http404("No such result.")
    if expires <= time.time():
        return HttpResponse("This link has expired: results are kept for 24 hours.", status=410,
                            content_type="text/plain")
    row = UpscaleRequest.objects.filter(request_id=request_id, result_file=name, purged_at__isnull=True).first()
    if row is None or not storage.exists(name):
        raise Http404("No such result.")
    response = FileResponse(storage.default_storage.open(name, "rb"),
                            content_type=_CONTENT_TYPES.get(filename.rsplit(".", 1)[-1], "application/octet-stream"))
    response["Content-Disposition"] = f'inline; filename="{request_id}.{filename.rsplit(".", 1)[-1]}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response
