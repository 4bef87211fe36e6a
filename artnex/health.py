"""``/healthz``: the process answers. ``/readyz``: it can serve, every dependency reachable."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from artnex import readiness


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness only: restarting a process cannot fix a database outage, so none is checked here."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness for a load balancer: 503 with each check's detail when any dependency fails."""
    outcomes = readiness.run_all()
    ready = all(outcome.ok for outcome in outcomes)
    body = {"status": "ok" if ready else "unavailable",
            "checks": {outcome.name: outcome.as_dict() for outcome in outcomes}}
    return JsonResponse(body, status=200 if ready else 503)
