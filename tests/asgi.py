"""Driving the web entry point (artnex.asgi) as the ASGI server drives it: one connection whose
body we feed and whose client we can make hang up."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async

from artnex.asgi import application


def scope(path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }


class Client:
    """Plays the server's side of one connection: feeds body chunks, records what is sent."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.read = 0
        self.hang_up = asyncio.Event()
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        if self.chunks:
            chunk = self.chunks.pop(0)
            self.read += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}
        await self.hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return next(m["status"] for m in self.sent if m["type"] == "http.response.start")

    def json(self) -> Any:
        return json.loads(b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body"))


def upscale_then_hang_up(key: str, payload: dict[str, Any], *, when: Callable[[], bool], settle: float = 0.0,
                         then: Callable[[], None] = lambda: None) -> Client:
    """POST /v1/upscale, hang up once ``when()`` holds (it may query the database), wait
    ``settle`` seconds, call ``then()``, and let the request run to its end."""
    body = json.dumps(payload).encode()
    client = Client([body])
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
               "Content-Length": str(len(body)), "Host": "127.0.0.1"}

    async def converse() -> None:
        served = asyncio.create_task(application(scope("/v1/upscale", headers), client.receive, client.send))
        ready = sync_to_async(when, thread_sensitive=False)
        while not await ready():
            await asyncio.sleep(0.02)
        client.hang_up.set()
        await asyncio.sleep(settle)
        then()
        await asyncio.wait_for(served, timeout=60)

    asyncio.run(converse())
    return client
