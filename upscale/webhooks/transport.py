"""POSTing a webhook through the SSRF-safe client: the customer's URL is as hostile as an
image URL, so it is resolved once, every address checked, and the connection pinned."""

from __future__ import annotations

import http.client
from dataclasses import dataclass

from django.conf import settings

from upscale import fetch
from upscale.errors import ApiError

USER_AGENT = "Artnex-Webhooks/1.0"
# Receivers answer a status; their body is not ours to keep.
_MAX_RESPONSE_BYTES = 64 * 1024


class DeliveryError(Exception):
    """The POST did not get an HTTP answer (refused address, DNS, TLS, time-out)."""


@dataclass(frozen=True)
class Answer:
    status: int


def _options(timeout: float) -> fetch._Options:
    allow_private = settings.ARTNEX_ALLOW_PRIVATE_URLS
    return fetch._Options(
        max_bytes=_MAX_RESPONSE_BYTES,
        allow_http=allow_private,
        is_allowed_address=fetch._allow_any_address if allow_private else fetch.is_public_address,
        resolver=fetch._system_resolver,
        ssl_context=fetch._default_ssl_context(),
        connect_timeout=min(timeout, settings.ARTNEX_FETCH_CONNECT_TIMEOUT),
        read_timeout=timeout,
        max_redirects=0,
    )


def _reworded(error: ApiError) -> str:
    # The client's messages speak of "image URL"; here the URL is the webhook's.
    return error.message.replace("image URL", "webhook URL")


def check_url(url: str) -> str:
    """Refuse, before any charge, a webhook URL that could never be delivered to: not https
    (plain http only in development), credentials in it, or a host that is not public."""
    options = _options(settings.ARTNEX_FETCH_CONNECT_TIMEOUT)
    with fetch._Deadline(options.connect_timeout) as deadline:
        try:
            target = fetch._parse_url(url, options.allow_http)
            fetch._checked_addresses(target, options, deadline)
        except ApiError as exc:
            raise DeliveryError(_reworded(exc)) from exc
        except (OSError, fetch._Timeout) as exc:
            raise DeliveryError("webhook URL host could not be resolved") from exc
    return url


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Answer:
    """One POST; redirects are not followed (a webhook must name its final address)."""
    options = _options(timeout)
    with fetch._Deadline(options.connect_timeout + timeout) as deadline:
        try:
            target = fetch._parse_url(url, options.allow_http)
            addresses = fetch._checked_addresses(target, options, deadline)
            connection = fetch._PinnedConnection(target, addresses, options, deadline)
            try:
                connection.request("POST", target.path, body=body, headers={
                    "Content-Type": "application/json", "User-Agent": USER_AGENT, "Connection": "close", **headers,
                })
                response = connection.getresponse()
                response.read(_MAX_RESPONSE_BYTES)
                return Answer(response.status)
            finally:
                connection.close()
                deadline.unwatch()
        except ApiError as exc:
            raise DeliveryError(_reworded(exc)) from exc
        except (OSError, http.client.HTTPException, fetch._Timeout) as exc:
            raise DeliveryError(_reworded(fetch._network_error(exc, deadline))) from exc
