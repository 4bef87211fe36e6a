"""Telling a synchronous view that its client has hung up.

Under ASGI, Django notices a client that disconnects and cancels the view's task, but a
synchronous view runs in a thread that cannot be interrupted. :func:`disconnect_aware` wraps
such a view in a small async view that runs it in its request's own thread (as Django would)
and, on cancellation, sets an event the view can watch (:func:`client_gone`): a long wait then
ends at its next poll instead of finishing work for no one. Under WSGI the event never fires.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest
from django.http.response import HttpResponseBase

_ATTRIBUTE = "artnex_client_gone"
SyncView = Callable[..., HttpResponseBase]


def client_gone(request: Any) -> threading.Event | None:
    """The event set when this request's client disconnects; None outside :func:`disconnect_aware`.
    Accepts a Django request or a DRF one (which wraps it)."""
    request = getattr(request, "_request", request)
    return getattr(request, _ATTRIBUTE, None)


def disconnect_aware(view: SyncView) -> Callable[..., Any]:
    @wraps(view)  # keeps csrf_exempt, DRF's cls and initkwargs (the OpenAPI schema finds the view)
    async def watching(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        gone = threading.Event()
        setattr(request, _ATTRIBUTE, gone)
        running = asyncio.ensure_future(sync_to_async(view)(request, *args, **kwargs))
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            gone.set()
            await running  # the view sees the event at its next look and ends (refunding what it must)
            raise

    return watching
