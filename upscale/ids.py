"""Public identifiers."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits
_REQUEST_ATTRIBUTE = "upscale_request_id"


def new_request_id() -> str:
    """``req_ups_`` + 20 random characters (about 103 bits): unguessable, URL-safe."""
    return "req_ups_" + "".join(secrets.choice(_ALPHABET) for _ in range(20))


def attach(request: object, request_id: str) -> None:
    """Keep the id on a request object, where the error handlers read it back."""
    setattr(request, _REQUEST_ATTRIBUTE, request_id)


def attached(request: object) -> str | None:
    """The id :func:`attach` kept on this request, if any."""
    return getattr(request, _REQUEST_ATTRIBUTE, None)
