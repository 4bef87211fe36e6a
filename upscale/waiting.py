"""Holding the HTTP request open until the worker has finished the upscale, without holding
a thread or a database connection while it waits (the web server is ASGI: see
docs/architecture.md, "Slow clients and long waits")."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from asgiref.sync import sync_to_async
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


async def wait_for_result(request_id: str, deadline: datetime) -> UpscaleRequest:
    """Poll the row until it is terminal; past ``deadline`` give up (failing and refunding it).

    Polling starts fast (small images finish in well under a second) and backs off to keep
    the database quiet during long jobs; between polls the coroutine only sleeps.
    """
    delay = _FIRST_POLL_S
    while True:
        row = await sync_to_async(_read)(request_id)
        remaining = (deadline - timezone.now()).total_seconds()
        if row.is_terminal:
            return row
        if remaining <= 0:
            await sync_to_async(give_up)(request_id, FailureCode.UPSCALE_TIMEOUT,
                                              "no worker finished the request in time")
            return await sync_to_async(_read)(request_id)  # may have succeeded meanwhile
        await asyncio.sleep(min(delay, remaining))
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
