"""The request id on every log line about a request, from the API through the worker.

The web process binds the id when the request gets one (:func:`artnex.ids.attach`); a task
queued while it is bound carries it in a message header; the worker binds it again for the
task's run. A logging filter copies the bound id onto each record, where the JSON formatter
makes it a field. Context variables keep threads (gunicorn) and tasks apart.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.core.signals import request_started

HEADER = "artnex_request_id"
_current: ContextVar[str | None] = ContextVar(HEADER, default=None)


def bind(request_id: str | None) -> None:
    _current.set(request_id)


def current() -> str | None:
    return _current.get()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _current.get()
        return True


@request_started.connect
def _forget_previous_request(**_: Any) -> None:
    bind(None)  # a gunicorn thread serves many requests in turn


@before_task_publish.connect
def _carry(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is not None and (request_id := _current.get()):
        headers.setdefault(HEADER, request_id)


@task_prerun.connect
def _adopt(task: Any = None, **_: Any) -> None:
    # Only a task that carries an id changes the context: an eager task (tests) runs inside
    # the web request and keeps its id.
    if task is not None and (request_id := task.request.get(HEADER)):
        bind(request_id)


@task_postrun.connect
def _drop(task: Any = None, **_: Any) -> None:
    if task is not None and task.request.get(HEADER):
        bind(None)
