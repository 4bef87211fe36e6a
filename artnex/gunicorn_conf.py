"""gunicorn's settings for the Procfile's web process, read from the environment.

One process with threads: the embedded defaults keep rate-limit counters in process memory,
and SQLite serialises writers anyway. Production sets CACHE_URL and may raise the workers.
"""

from __future__ import annotations

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("ARTNEX_WEB_WORKERS", "1"))
threads = int(os.environ.get("ARTNEX_WEB_THREADS", "16"))
# A request is held open while the worker upscales (ARTNEX_WAIT_SECONDS): never cut it first.
timeout = int(float(os.environ.get("ARTNEX_WAIT_SECONDS", "300"))) + 60
accesslog = "-"
