"""The Celery application: configured from Django settings under the ``CELERY_`` namespace."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, Task
from celery.signals import before_task_publish, task_postrun, task_prerun, worker_process_init

from . import ids
from .gpu import add_gpu_option

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "artnex.settings")

# The worker's log formats (CELERY_WORKER_*LOG_FORMAT) name the request id of the task.
ids.add_to_every_log_record()

app = Celery("artnex")
app.config_from_object("django.conf:settings", namespace="CELERY")
add_gpu_option(app)
app.autodiscover_tasks()

from artnex import worker_metrics  # noqa: E402, F401 - connects the worker's metrics server

# Tasks bound to a request id, by task id, until they finish (prerun and postrun pair up).
_bound_tasks: dict[str, Any] = {}


@before_task_publish.connect
def _send_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """A task queued while serving a request carries that request's id in its headers."""
    request_id = ids.current()
    if request_id and headers is not None:
        headers.setdefault(ids.TASK_HEADER, request_id)


@task_prerun.connect
def _bind_request_id(task_id: str, task: Task, **_: Any) -> None:
    # Celery merges custom message headers into the task's request context.
    request_id = getattr(task.request, ids.TASK_HEADER, None)
    if request_id:
        _bound_tasks[task_id] = ids.bind(request_id)


@task_postrun.connect
def _unbind_request_id(task_id: str, **_: Any) -> None:
    token = _bound_tasks.pop(task_id, None)
    if token is not None:
        ids.unbind(token)



@worker_process_init.connect
def _leave_the_supervisors_process_group(**_: Any) -> None:
    """Pool processes stop when the worker's main process tells them to, and only then.

    honcho (and systemd, and a terminal's Ctrl-C) signal a whole process group; a pool process
    killed by that SIGTERM under a task leaves the main process's warm shutdown hanging until
    it is killed. In a group of its own, it finishes its task and is stopped by the pool.
    """
    os.setpgid(0, 0)
