"""A plain HTTP client for tests and benchmarks that talk to a real server (live_server, the
`make run` stack, bench/load.py's stack)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any

# No proxy from the environment may stand between the tests and the local server.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
         timeout: float = 180) -> Answer:
    """One real HTTP exchange; an error status is an answer like any other, not an exception."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.headers, error.read())


def post_upscale(base_url: str, key: str, body: dict[str, Any] | bytes) -> Answer:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http("POST", f"{base_url}/v1/upscale", data,
                {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
