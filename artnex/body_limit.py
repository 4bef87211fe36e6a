"""An ASGI wrapper that refuses request bodies over a limit, the way nginx does.

Django's ASGI handler reads a whole body (to a temporary file) before any view runs, with no
limit of its own, so the limit is enforced here, before Django: a body declared or found to be
larger is answered at once, without spooling it anywhere.

Answering is not enough, though: a server that replies and closes while the client is still
sending makes the kernel reset the connection, and a client that writes the whole body before
reading (Python's urllib) sees a broken pipe instead of the answer. So the rest of the body is
read and thrown away first ("lingering close"), up to ``drain_bytes``; past that bound the
answer goes out and the connection is closed regardless. A client that asked
``Expect: 100-continue`` has not sent the body yet: it gets the answer straight away.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Any, Any, Any], Awaitable[None]]  # Django types its handler a little differently
# (status, content type, body) of the answer to an oversized request.
Refusal = Callable[[Scope], tuple[int, str, bytes]]


class _TooLarge(Exception):
    """Raised out of ``receive`` once a body without a declared length passes the limit."""


class BodyLimit:
    def __init__(self, app: App, *, max_bytes: Callable[[], int], drain_bytes: Callable[[], int],
                 refusal: Refusal) -> None:
        # Callables, read per request: settings may change in tests after the app is built.
        self.app, self.max_bytes, self.drain_bytes, self.refusal = app, max_bytes, drain_bytes, refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        limit = self.max_bytes()
        declared = _content_length(headers)
        if declared is not None and declared > limit:
            if headers.get(b"expect", b"").lower() != b"100-continue":
                await self._drain(receive, already=0)
            await self._refuse(scope, send)
            return
        counted = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal counted
            message = await receive()
            if message["type"] == "http.request":
                counted += len(message.get("body", b""))
                if counted > limit:
                    if message.get("more_body", False):
                        await self._drain(receive, already=counted)
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive if declared is None else receive, tracking_send)
        except _TooLarge:
            if started:
                raise
            await self._refuse(scope, send)

    async def _drain(self, receive: Receive, already: int) -> None:
        drained = already
        while drained <= self.drain_bytes():
            message = await receive()
            if message["type"] != "http.request":
                return  # the client hung up
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def _refuse(self, scope: Scope, send: Send) -> None:
        status, content_type, body = self.refusal(scope)
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body})


def _content_length(headers: dict[bytes, bytes]) -> int | None:
    try:
        return int(headers[b"content-length"])
    except (KeyError, ValueError):
        return None
