"""Holding the HTTP request open until the worker has finished the upscale."""

from __future__ import annotations

import time

from django.conf import settings

from . import lifecycle
from .models import UpscaleRequest


def wait_for_result(request_id: str) -> UpscaleRequest:
    """Poll the row until it is terminal; past the deadline, fail it (refunding the credits).

    Polling starts fast (small images finish in well under a second) and backs off to keep
    the database quiet during long jobs.
    """
    deadline = time.monotonic() + settings.ARTNEX_WAIT_SECONDS
    delay = 0.05
    while True:
        row = UpscaleRequest.objects.get(request_id=request_id)
        if row.is_terminal:
            return row
        if time.monotonic() >= deadline:
            lifecycle.fail(request_id, "upscale_timeout", "no worker finished the request in time")
            return UpscaleRequest.objects.get(request_id=request_id)  # may have succeeded meanwhile
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.5)
