"""Prometheus metrics of the web processes, and the ``/metrics`` answer.

Several gunicorn workers and Celery pool processes serve one host: with
``PROMETHEUS_MULTIPROC_DIR`` set (an empty folder per host, before any process starts), every
process writes its counters there and ``/metrics`` adds them all up, so a scrape sees the host,
not whichever process answered it. Without it (``make run``, tests) each process counts alone.
App-specific metrics live in their app (upscale/metrics.py); this module imports no app.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUESTS = Counter(
    "artnex_http_requests_total", "HTTP requests answered, by view, status and API error code.",
    ["view", "method", "status", "error_code"],
)
# Upscales hold their request open until the result is ready: buckets reach the 300 s wait.
LATENCY = Histogram(
    "artnex_http_request_duration_seconds", "Time to answer an HTTP request, by view.", ["view", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
_ERROR_BODY_LIMIT = 4096  # the contract's error bodies are a few hundred bytes


def error_code(response: HttpResponse) -> str:
    """The contract's ``error.code`` of an API error answer; "" for anything else."""
    if response.status_code < 400 or response.streaming or not response.get("Content-Type", "").startswith(
        "application/json"
    ):
        return ""
    if len(response.content) > _ERROR_BODY_LIMIT:
        return ""
    try:
        error = json.loads(response.content).get("error")
    except (ValueError, AttributeError):
        return ""
    return str(error.get("code", ""))[:40] if isinstance(error, dict) else ""


class MetricsMiddleware:
    """Counts every answer; labels are the URL pattern's name, never the raw path, so that
    request ids in URLs cannot blow up the number of series.

    Async-capable: under ASGI a sync-only middleware would run every request, long upscale
    waits included, in a thread, undoing what the async views are for.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self._acall(request)
        started = time.perf_counter()
        response = self.get_response(request)
        _record(request, response, started)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = await self.get_response(request)
        _record(request, response, started)
        return response


def _record(request: HttpRequest, response: HttpResponse, started: float) -> None:
    match = request.resolver_match
    view = (match.view_name or "unnamed") if match else "unmatched"
    method = request.method if request.method in {"GET", "POST", "HEAD", "DELETE", "PUT", "PATCH"} else "other"
    LATENCY.labels(view, method).observe(time.perf_counter() - started)
    REQUESTS.labels(view, method, str(response.status_code), error_code(response)).inc()


class QueueDepthCollector(Collector):
    """Messages waiting in each Celery queue, asked of the broker at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from artnex.celery import app  # the wiring module; imported late so settings load first

        gauge = GaugeMetricFamily("artnex_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"])
        queues = (settings.ARTNEX_UPSCALE_QUEUE, settings.CELERY_TASK_DEFAULT_QUEUE)
        try:
            with app.connection_for_read() as conn:
                conn.ensure_connection(max_retries=1, timeout=3)
                channel = conn.default_channel
                for queue in queues:
                    gauge.add_metric([queue], _depth(channel, queue))
        except Exception:  # noqa: S110 - a broker outage shows in /readyz; the scrape still answers
            pass
        yield gauge


def _depth(channel: object, queue: str) -> int:
    try:
        return int(channel.queue_declare(queue=queue, passive=True).message_count)  # type: ignore[attr-defined]
    except Exception:  # never declared (no worker has started): nothing waits in it
        return 0


def process_metrics() -> CollectorRegistry:
    """This host's processes added up when they share a folder; this process's alone otherwise."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged)
    return merged


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    live = CollectorRegistry()
    live.register(QueueDepthCollector())
    # The text format is a list of metric families: two registries' outputs concatenate.
    return HttpResponse(generate_latest(process_metrics()) + generate_latest(live), content_type=CONTENT_TYPE_LATEST)
