"""Wrapping a POST in its Idempotency-Key: replay, conflict, or run once and keep the answer."""

from __future__ import annotations

from collections.abc import Callable

from rest_framework.request import Request
from rest_framework.response import Response

from . import store
from .fingerprint import fingerprint

HEADER = "Idempotency-Key"


def respond(request: Request, account_id: int, *, respond_async: bool, run: Callable[[], Response]) -> Response:
    key = request.headers.get(HEADER)
    if key is None:
        return run()
    claimed = store.claim(account_id, store.check_key(key), fingerprint(request.data, respond_async=respond_async))
    if isinstance(claimed, store.Replay):
        return Response(claimed.body, status=claimed.status,
                        headers={**claimed.headers, "Idempotent-Replayed": "true"})
    try:
        response = run()
    except BaseException:
        store.release(claimed)  # nothing was charged: a retry does the work afresh
        raise
    request_id = str((response.data or {}).get("request_id", ""))
    store.complete(claimed, response.status_code, response.data, dict(response.items()), request_id)
    return response
