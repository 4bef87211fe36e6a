"""Public identifiers of upscale requests."""

from __future__ import annotations

import string

from django.utils.crypto import get_random_string

_ALPHABET = string.ascii_lowercase + string.digits


def new_request_id() -> str:
    """``req_ups_`` + 20 random characters (about 103 bits): unguessable, URL-safe."""
    return "req_ups_" + get_random_string(20, _ALPHABET)
