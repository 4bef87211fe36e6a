"""gunicorn's settings for the Procfile's web process, read from the environment.

gunicorn manages uvicorn (ASGI) workers. Under ASGI, Django runs each request's synchronous
code in a thread of that request's own, not in a fixed pool: a request waiting for the Celery
worker or downloading a slow image parks only its own thread, and /healthz, result downloads
and the admin get threads of their own, so slow clients cannot starve anyone
(docs/architecture.md, "Slow clients and long waits"). One process: the embedded defaults keep rate-limit counters in
process memory, and SQLite serialises writers anyway. Production sets CACHE_URL and may raise
the workers.
"""

from __future__ import annotations

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("ARTNEX_WEB_WORKERS", "1"))
worker_class = "uvicorn_worker.UvicornWorker"
# With an ASGI worker this is the worker's heartbeat, not a per-request limit: the event loop
# answers it while requests wait.
timeout = 60
# In-flight requests get this long to finish on SIGTERM (a waiter that is cut off refunds).
graceful_timeout = 15
accesslog = "-"


def child_exit(server: object, worker: object) -> None:
    """A web process that exits leaves its metrics file behind for the host's total; live
    gauges of it must go (PROMETHEUS_MULTIPROC_DIR)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
