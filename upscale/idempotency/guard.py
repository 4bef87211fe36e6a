"""Wrapping a POST in its Idempotency-Key: replay, conflict, or run once and keep the answer."""

from __future__ import annotations

from collections.abc import Callable

from rest_framework.request import Request
from rest_framework.response import Response

from . import store
from .fingerprint import fingerprint
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"


def respond(request: Request, account_id: int, *, respond_async: bool, run: Callable[[int | None], Response],
            resume: Callable[[str], Response]) -> Response:
    """``run(record_id)`` does the work (the key's record, whose ownership the charge checks;
    None without a key); ``resume(request_id)`` answers an upscale a first request with the
    same key recorded but never answered (its process died while its client waited)."""
    key = request.headers.get(HEADER)
    if key is None:
        return run(None)
    claimed = store.claim(account_id, store.check_key(key), fingerprint(request.data, respond_async=respond_async))
    if isinstance(claimed, store.Replay):
        return Response(claimed.body, status=claimed.status,
                        headers={**claimed.headers, "Idempotent-Replayed": "true"})
    if isinstance(claimed, store.Unanswered):
        unanswered = claimed
        response = _kept(unanswered.record, lambda: resume(unanswered.request_id))
        response["Idempotent-Replayed"] = "true"  # the first request's upscale, not a new one
        return response
    record = claimed
    return _kept(record, lambda: run(record.pk))


def _kept(record: IdempotencyRecord, run: Callable[[], Response]) -> Response:
    """``run``'s answer, kept for replay when it charged; the key is released when it did not."""
    try:
        response = run()
    except BaseException:
        store.release(record)  # nothing was charged, or it was refunded: a retry does the work afresh
        raise
    request_id = str((response.data or {}).get("request_id", ""))
    store.complete(record, response.status_code, response.data, dict(response.items()), request_id)
    return response
