"""Site-level answers: the 404/500 handlers (the landing page is upscale's; health checks are
artnex/health.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.defaults import page_not_found
from django.views.defaults import server_error as django_server_error

from .errors import InternalError, NotFound, error_response
from .ids import attached


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
