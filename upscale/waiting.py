"""Holding the HTTP request open until the worker has finished the upscale.

The wait runs in its request's own thread (the web server is ASGI: docs/architecture.md,
"Slow clients and long waits"), so it takes nothing from a shared pool; between polls it holds
no database connection either. It ends early when the client hangs up.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from django.db import connection
from django.utils import timezone

from . import lifecycle
from .models import UpscaleRequest

FailureCode = UpscaleRequest.FailureCode
log = logging.getLogger(__name__)
_FIRST_POLL_S = 0.05
_MAX_POLL_S = 0.5


def _read(request_id: str) -> UpscaleRequest:
    row = UpscaleRequest.objects.get(request_id=request_id)
    if not connection.in_atomic_block:
        # Between polls this waiter holds no database connection: hundreds of waiters must
        # not exhaust PostgreSQL's connection slots (with a pool, this returns it to the pool).
        connection.close()
    return row


class ClientLeft(Exception):
    """The client hung up while its request, which has a webhook, was still running: the wait
    ends, the request does not (the webhook and ``GET /v1/upscale/{id}`` carry its result)."""


def wait_for_result(request_id: str, deadline: datetime, gone: threading.Event | None = None, *,
                    give_up_when_gone: bool = True) -> UpscaleRequest:
    """Poll the row until it is terminal. Past ``deadline``, or once ``gone`` is set (the
    client disconnected), give the request up: failed and refunded unless already handed out.
    With ``give_up_when_gone`` False, a disconnect raises :class:`ClientLeft` instead.

    Polling starts fast (small images finish in well under a second) and backs off to keep
    the database quiet during long jobs.
    """
    pause = gone or threading.Event()  # waiting on the event: a disconnect ends the pause at once
    delay = _FIRST_POLL_S
    while True:
        row = _read(request_id)
        if row.is_terminal:
            return row
        remaining = (deadline - timezone.now()).total_seconds()
        if pause.is_set() and not give_up_when_gone:
            raise ClientLeft(request_id)
        if pause.is_set() or remaining <= 0:
            reason = "the client disconnected" if pause.is_set() else "no worker finished the request in time"
            give_up(request_id, FailureCode.UPSCALE_TIMEOUT, reason)
            return _read(request_id)  # may have succeeded meanwhile
        pause.wait(min(delay, remaining))
        delay = min(delay * 1.5, _MAX_POLL_S)


def give_up(request_id: str, code: FailureCode, message: str) -> None:
    """The waiter stops waiting: refund unless the result was handed out, and revoke the job."""
    if lifecycle.abandon(request_id, code, message):
        revoke(request_id)


def revoke(request_id: str) -> None:
    """Ask the workers to drop the job (its task id is the request id).

    Best effort: the conditional claim already refuses a failed job, this only saves a worker
    the trip; a running job notices on its own (tasks.py checks the row between tiles).
    """
    from .tasks import process_upscale

    try:
        process_upscale.app.control.revoke(request_id)
    except Exception:
        log.warning("could not revoke upscale %s; the worker will skip it", request_id, exc_info=True)
