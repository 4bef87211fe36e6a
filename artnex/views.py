"""Site-level pages: the landing page and the health check."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from upscale.engine import list_models
from upscale.runtime import default_model


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"default_model": default_model(), "models": list_models()})


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness of the web process and its database, for load balancers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any database failure means "not ready"
        return JsonResponse({"status": "error", "database": type(exc).__name__}, status=503)
    return JsonResponse({"status": "ok"})
