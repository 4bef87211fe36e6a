"""The request id a response carries, kept on the request object that served it.

Minted by the app that owns the request (``upscale.ids.new_request_id``); read back here by
the project-wide error handlers, which must not import any app to find it.
"""

from __future__ import annotations

_REQUEST_ATTRIBUTE = "artnex_request_id"


def attach(request: object, request_id: str) -> None:
    """Keep the id on a request object, where the error handlers read it back."""
    setattr(request, _REQUEST_ATTRIBUTE, request_id)


def attached(request: object) -> str | None:
    """The id :func:`attach` kept on this request, if any."""
    return getattr(request, _REQUEST_ATTRIBUTE, None)
