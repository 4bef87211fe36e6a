"""Site-level answers: the health check and the 404/500 handlers (the landing page is upscale's)."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found
from django.views.defaults import server_error as django_server_error

from .errors import InternalError, NotFound, error_response
from .ids import attached


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness of the web process and its database, for load balancers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any database failure means "not ready"
        return JsonResponse({"status": "error", "database": type(exc).__name__}, status=503)
    return JsonResponse({"status": "ok"})


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/v1/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return error_response(NotFound(), None)
    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """A bug must still answer the contract's JSON shape to API clients (it is logged by Django)."""
    if _is_api(request):
        return error_response(InternalError(), attached(request))
    return django_server_error(request)
