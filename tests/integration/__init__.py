"""The integration tier: PostgreSQL, Redis and a real Celery worker process.

Run through ``python -m artnex.integration_env -- pytest -m integration`` (``make test`` does),
which points the settings at the services and sets ARTNEX_INTEGRATION=1. Without it every test
here skips, so the unit tier can never pick them up by accident.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any

import pytest

INTEGRATION = os.environ.get("ARTNEX_INTEGRATION") == "1"

needs_services = pytest.mark.skipif(
    not INTEGRATION,
    reason="integration tier: run through `python -m artnex.integration_env` (ARTNEX_INTEGRATION=1)",
)

# No proxy from the environment may stand between the tests and the live server.
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
