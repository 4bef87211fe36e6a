"""The API documentation page (the contract with the customer's own key prefix) and the
OpenAPI reference, rendered by a viewer served from this service's static files."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import Account, ApiKey

from ..terms import product_terms


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    """Public, so prospects can read it; a logged-in customer sees their own key prefix."""
    api_key = None
    if request.user.is_authenticated:
        account = Account.objects.filter(user_id=request.user.pk).first()
        if account is not None:
            api_key = ApiKey.objects.active().filter(account=account).first()
    base_url = (settings.ARTNEX_PUBLIC_URL or request.build_absolute_uri("/")).rstrip("/")
    return render(request, "upscale/portal/docs.html", {
        "base_url": base_url,
        "key_example": f"ax_live_{api_key.prefix}_…" if api_key else "",
        "api_key": api_key,
        **product_terms(),
    })


@require_GET
def api_reference(request: HttpRequest) -> HttpResponse:
    return render(request, "upscale/portal/reference.html")
