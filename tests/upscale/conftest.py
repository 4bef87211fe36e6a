"""Fixtures of the API-beyond-the-basics tests: a JSON caller for every /v1/ method, and a
real HTTP server on loopback that receives webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client


class V1:
    """Calls /v1/ endpoints as a customer's code does: a Bearer key, JSON or multipart."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @staticmethod
    def _auth(key: str | None, headers: dict[str, str]) -> dict[str, str]:
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
        if key is not None:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        return extra

    def post(self, body: Any, key: str | None, **headers: str) -> Any:
        return self.client.post("/v1/upscale", data=json.dumps(body), content_type="application/json",
                                **self._auth(key, headers))

    def upload(self, fields: dict[str, Any], key: str | None, **headers: str) -> Any:
        # The test client encodes a dict with file objects as multipart/form-data.
        return self.client.post("/v1/upscale", data=fields, **self._auth(key, headers))

    def get(self, path: str, key: str | None, **headers: str) -> Any:
        return self.client.get(path, **self._auth(key, headers))

    def delete(self, path: str, key: str | None) -> Any:
        return self.client.delete(path, **self._auth(key, {}))


@pytest.fixture
def v1(client: Client) -> V1:
    return V1(client)


def path_of(url: str) -> str:
    return url.replace("http://testserver", "")


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200

    def next_status(self) -> int:
        return self.statuses.pop(0) if self.statuses else 200


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    """A webhook endpoint on 127.0.0.1; plain http and loopback are allowed only for this."""
    settings.ARTNEX_ALLOW_PRIVATE_URLS = True
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state["r"].received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
            status = state["r"].next_status()
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["r"] = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks/artnex?src=test")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["r"]
    server.shutdown()
    server.server_close()
