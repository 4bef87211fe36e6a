"""A worker that dies mid-upscale (kill -9, out of memory, a lost host) leaves its message
unacknowledged; the broker hands it to another worker, flagged as re-delivered.

The request row is then still ``processing`` under the dead attempt. The broker re-delivers
only once that attempt is gone (a lost pool process is rejected back at once; a lost host's
message returns after the visibility timeout, which settings keep above the task time limit),
so a re-delivered message may take the request over. An image that kills every worker that
touches it must not take the whole fleet down in turn: after ``MAX_DELIVERIES`` it is failed
and refunded instead.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

MAX_DELIVERIES = 2
_COUNTER_TTL_S = 24 * 3600


def is_redelivery(task_request: Any) -> bool:
    return bool((getattr(task_request, "delivery_info", None) or {}).get("redelivered"))


def may_run_again(request_id: str) -> bool:
    """Count this delivery (the shared cache counts across workers); False past the cap."""
    key = f"upscale:deliveries:{request_id}"
    cache.add(key, 1, timeout=_COUNTER_TTL_S)  # the first delivery, which is never flagged
    return cache.incr(key) <= MAX_DELIVERIES
