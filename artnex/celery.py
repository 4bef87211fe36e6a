"""The Celery application: configured from Django settings under the ``CELERY_`` namespace."""

from __future__ import annotations

import os

from celery import Celery

from artnex.gpu import add_gpu_option

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "artnex.settings")

app = Celery("artnex")
app.config_from_object("django.conf:settings", namespace="CELERY")
add_gpu_option(app)
app.autodiscover_tasks()

from artnex import logcontext, worker_metrics  # noqa: E402, F401 - connect their Celery signals
