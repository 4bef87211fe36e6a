"""Metrics of a Celery worker host, served on its own port (``ARTNEX_WORKER_METRICS_PORT``).

GPU workers run on hosts without the web process, so each worker's main process serves what
its pool processes counted (upscale durations per model, credits refunded), added up from
``PROMETHEUS_MULTIPROC_DIR``, for Prometheus to scrape per host.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import worker_init, worker_process_shutdown
from prometheus_client import CollectorRegistry, multiprocess, start_http_server

log = logging.getLogger(__name__)


@worker_init.connect
def serve_metrics(**_: Any) -> None:
    port = os.environ.get("ARTNEX_WORKER_METRICS_PORT")
    if not port:
        return
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Pool processes count in their own memory: without the shared folder the main
        # process would serve nothing they counted.
        log.error("ARTNEX_WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR; worker metrics are off")
        return
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(int(port), addr=os.environ.get("ARTNEX_WORKER_METRICS_ADDR", "0.0.0.0"),  # noqa: S104
                      registry=registry)
    log.info("worker metrics on port %s", port)


@worker_process_shutdown.connect
def forget_process(pid: int | None = None, **_: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid or os.getpid())
