"""The signature on every webhook, and its check (the same code the client example shows).

``Artnex-Signature: t=<unix time>,v1=<hex>[,v1=<hex>]`` where each ``v1`` is
HMAC-SHA256(secret, f"{t}.{body}"). Signing the time with the body lets a receiver refuse
replays of an old delivery; several ``v1`` appear while a rotated secret is in its grace period.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable

HEADER = "Artnex-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header_value(secrets: Iterable[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={signature(s, timestamp, body)}" for s in secrets)])


def verify(header: str, body: bytes, secret: str, *, tolerance: int = DEFAULT_TOLERANCE_SECONDS,
           now: float | None = None) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and is recent enough."""
    parts = [item.partition("=") for item in header.split(",")]
    timestamps = [value for key, _, value in parts if key.strip() == "t"]
    candidates = [value.strip() for key, _, value in parts if key.strip() == "v1"]
    if len(timestamps) != 1 or not timestamps[0].strip().isdigit():
        return False
    timestamp = int(timestamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
