"""History of a customer's upscale requests, one request's detail, and its files."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.customer import customer_view
from accounts.models import Account

from .. import previews, storage
from ..models import UpscaleRequest
from .results import result_available, result_expired

PAGE_SIZE = 20
# Shown in place of a preview that is gone (expired) or was never made (failed requests).
_NO_PREVIEW_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="#eef0f5"/>'
    '<path d="M18 44l10-12 8 9 6-7 6 10z" fill="#c3c8d4"/><circle cx="24" cy="24" r="4" fill="#c3c8d4"/></svg>'
)


class StatusFilter(forms.Form):
    status = forms.ChoiceField(choices=[("", "All"), *UpscaleRequest.Status.choices], required=False)


@dataclass(frozen=True)
class HistoryItem:
    row: UpscaleRequest
    available: bool
    expired: bool


def _own_request(account: Account, request_id: str) -> UpscaleRequest:
    # Filtered by account: another customer's request is a 404, like one that does not exist.
    return get_object_or_404(UpscaleRequest, request_id=request_id, account=account)


@require_GET
@customer_view
def history(request: HttpRequest, account: Account) -> HttpResponse:
    status_filter = StatusFilter(request.GET)
    status = status_filter.cleaned_data["status"] if status_filter.is_valid() else ""
    rows = account.upscale_requests.select_related("api_key").order_by("-created_at", "-pk")
    if status:
        rows = rows.filter(status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    items = [HistoryItem(row, result_available(row, now), result_expired(row, now)) for row in page]
    return render(request, "upscale/portal/history.html", {
        "page": page, "items": items, "status": status, "statuses": UpscaleRequest.Status.choices,
        "has_any": status != "" or bool(items) or account.upscale_requests.exists(),
    })


@require_GET
@customer_view
def detail(request: HttpRequest, account: Account, request_id: str) -> HttpResponse:
    row = _own_request(account, request_id)
    available = result_available(row)
    result_url = ""
    if available:
        assert row.expires_at is not None
        result_url = storage.result_url(row.request_id, row.result_file, row.expires_at, _base_url(request))
    return render(request, "upscale/portal/detail.html", {
        "row": row, "available": available, "expired": result_expired(row), "result_url": result_url,
        "ttl_hours": settings.RESULT_TTL_SECONDS // 3600,
    })


@require_GET
@customer_view
def preview(request: HttpRequest, account: Account, request_id: str) -> HttpResponseBase:
    row = _own_request(account, request_id)
    name = previews.preview_name(row.request_id)
    if result_available(row) and storage.exists(name):
        response = FileResponse(storage.default_storage.open(name, "rb"), content_type="image/webp")
        response["Cache-Control"] = "private, max-age=3600"
        return response
    return HttpResponse(_NO_PREVIEW_SVG, content_type="image/svg+xml")


@require_GET
@customer_view
def download(request: HttpRequest, account: Account, request_id: str) -> HttpResponseBase:
    """The portal's download button: the same expiring link the API answered with."""
    row = _own_request(account, request_id)
    if not result_available(row):
        status = 410 if result_expired(row) else 404
        return render(request, "upscale/portal/gone.html", {"row": row}, status=status)
    assert row.expires_at is not None
    return redirect(storage.result_url(row.request_id, row.result_file, row.expires_at, _base_url(request)))


def _base_url(request: HttpRequest) -> str:
    return settings.ARTNEX_PUBLIC_URL or request.build_absolute_uri("/")
