"""How many upscale requests one account may have open at once (its plan's ``max_in_flight``).

A request holds a slot from the moment it is accepted for work (before any download) until
its answer is sent. Slots are cache keys taken with ``cache.add``, which is atomic on every
backend Django ships (and on Redis, shared by all web processes), so two requests can never
take the same slot. A slot carries a time-out longer than any request can live: a web process
that dies holding slots gives them back by expiry, never leaving an account locked out.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from artnex.errors import RateLimitExceeded

log = logging.getLogger(__name__)
# How long a client told "too many in flight" should wait: upscales of small images finish
# within seconds, so a slot usually frees up soon; a fixed answer keeps clients simple.
RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Slot:
    key: str
    token: str

    def release(self) -> None:
        """Free the slot. Best effort: by now the request may be charged and its answer built,
        and a cache that went down must not turn that answer into an error (the client would
        retry and pay twice); the slot then frees itself when it expires."""
        try:
            # Only the holder frees its slot: after an expiry another request may own the key.
            if cache.get(self.key) == self.token:
                cache.delete(self.key)
        except Exception:
            log.warning("could not give back in-flight slot %s; it expires on its own", self.key, exc_info=True)


def _lifetime() -> int:
    fetch = settings.ARTNEX_FETCH_CONNECT_TIMEOUT + 2 * settings.ARTNEX_FETCH_READ_TIMEOUT
    return int(fetch + settings.ARTNEX_WAIT_SECONDS + 120)


def acquire(account_id: int, limit: int) -> Slot:
    """Take a free slot of this account or raise 429 ``rate_limit_exceeded``."""
    token = secrets.token_hex(8)
    for index in range(limit):
        key = f"artnex:in-flight:{account_id}:{index}"
        if cache.add(key, token, timeout=_lifetime()):
            return Slot(key, token)
    raise RateLimitExceeded(
        f"This account already has {limit} upscale requests in progress, the most its plan allows at once: "
        "wait for one to finish.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


@contextmanager
def slot(account_id: int, limit: int) -> Iterator[Slot]:
    """Hold one of the account's slots for the block (429 if none is free)."""
    held = acquire(account_id, limit)
    try:
        yield held
    finally:
        held.release()
