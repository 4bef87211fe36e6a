"""Public identifiers."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits


def new_request_id() -> str:
    """``req_ups_`` + 20 random characters (about 103 bits): unguessable, URL-safe."""
    return "req_ups_" + "".join(secrets.choice(_ALPHABET) for _ in range(20))
