"""The request id a response carries, and the one the current code is working for.

Minted by the app that owns the request (``upscale.ids.new_request_id``); kept on the request
object for the error handlers (:func:`attach`), and bound to the running context
(:func:`bound`) so that log lines, web and worker alike, carry it. Celery passes it to tasks in
a message header (see ``artnex/celery.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

_REQUEST_ATTRIBUTE = "artnex_request_id"
# The Celery message header that carries the id from the web process to the worker.
TASK_HEADER = "artnex_request_id"
_current: ContextVar[str | None] = ContextVar("artnex_request_id", default=None)


def attach(request: object, request_id: str) -> None:
    """Keep the id on a request object, where the error handlers read it back."""
    setattr(request, _REQUEST_ATTRIBUTE, request_id)


def attached(request: object) -> str | None:
    """The id :func:`attach` kept on this request, if any."""
    return getattr(request, _REQUEST_ATTRIBUTE, None)


def current() -> str | None:
    """The request id the running code works for (a web request, or the task it queued)."""
    return _current.get()


def bind(request_id: str | None) -> Token[str | None]:
    return _current.set(request_id)


def unbind(token: Token[str | None]) -> None:
    _current.reset(token)


@contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    token = bind(request_id)
    try:
        yield
    finally:
        unbind(token)


class RequestIdFilter(logging.Filter):
    """Gives every log record a ``request_id`` ("-" outside a request) for the log format."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current() or "-"
        return True


def add_to_every_log_record() -> None:
    """Give every record made in this process a ``request_id``, whatever handler formats it.

    For the worker, where Celery and billiard install handlers of their own (a filter on some
    handlers would leave the others failing on a format that names %(request_id)s). Idempotent.
    """
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "adds_request_id", False):
        return

    def record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        record.request_id = current() or "-"
        return record

    record_with_request_id.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record_with_request_id)
