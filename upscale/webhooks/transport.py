"""POSTing a webhook through the SSRF-safe client (:func:`artnex.safe_http.post`): the
customer's URL is as hostile as an image URL, so it gets the same checks on every attempt."""

from __future__ import annotations

from django.conf import settings

from artnex import safe_http

USER_AGENT = "Artnex-Webhooks/1.0"


class DeliveryError(Exception):
    """The POST got no HTTP answer (refused address, DNS, TLS, time-out)."""


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """One POST; returns the receiver's HTTP status."""
    try:
        return safe_http.post(url, body, headers={"User-Agent": USER_AGENT, **headers},
                              allow_private=settings.ARTNEX_ALLOW_PRIVATE_URLS, timeout=timeout)
    except safe_http.FetchError as exc:
        # The client's messages all speak of "URL"; here that URL is the webhook's.
        raise DeliveryError(f"webhook {exc.message}") from exc
