"""Artnex API from Python with plain `requests`: synchronous, asynchronous, and webhooks.

    pip install requests
    export ARTNEX_URL=https://api.example.com ARTNEX_KEY=ak_...
    python client_example.py photo.jpg              # synchronous: waits, prints the result
    python client_example.py photo.jpg --async      # 202 at once, then polls the status URL

The test suite runs this file against a live server (tests/upscale/test_client_example.py)
and against the real `make run` stack (tests/stack/test_client_example.py), so what it shows
works.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

TERMINAL = {"succeeded", "failed"}


class ArtnexError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        error = body.get("error", {})
        self.status, self.code, self.request_id = status, error.get("code"), body.get("request_id")
        super().__init__(f"HTTP {status} {self.code}: {error.get('message')}")


class Artnex:
    def __init__(self, base_url: str, api_key: str, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"

    def _answer(self, response: requests.Response) -> dict[str, Any]:
        body = response.json()
        if not body.get("success", False) and response.status_code >= 400:
            raise ArtnexError(response.status_code, body)
        return body

    def upscale(self, image_path: str, *, scale: float = 2, respond_async: bool = False,
                webhook_url: str | None = None, **options: Any) -> dict[str, Any]:
        """Upload a local file (multipart). The Idempotency-Key makes a retry after a network
        error safe: the same key and fields return the first answer, charged once."""
        fields = {"scale": str(scale), "async": "true" if respond_async else "false",
                  **{name: str(value) for name, value in options.items()}}
        if webhook_url:
            fields["webhook_url"] = webhook_url
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        for attempt in range(3):
            try:
                with open(image_path, "rb") as image:
                    response = self.session.post(f"{self.base_url}/v1/upscale", data=fields,
                                                 files={"image": image}, headers=headers, timeout=330)
                return self._answer(response)
            except requests.ConnectionError:
                if attempt == 2:
                    raise
                time.sleep(2**attempt)
        raise AssertionError("unreachable")

    def upscale_url(self, image_url: str, *, scale: float = 2) -> dict[str, Any]:
        """An image already online: JSON body, the documented synchronous call."""
        response = self.session.post(f"{self.base_url}/v1/upscale", json={"image": image_url, "scale": scale},
                                     timeout=330)
        return self._answer(response)

    def status(self, request_id: str) -> dict[str, Any]:
        response = self.session.get(f"{self.base_url}/v1/upscale/{request_id}", timeout=30)
        return self._answer(response)

    def wait(self, request_id: str, *, poll_seconds: float = 1.0, timeout: float = 600) -> dict[str, Any]:
        """Poll until the request has finished; the answer then has the synchronous fields."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.status(request_id)
            if body["status"] in TERMINAL:
                return body
            if time.monotonic() > deadline:
                raise TimeoutError(f"{request_id} still {body['status']}")
            time.sleep(poll_seconds)

    def delete_result(self, request_id: str) -> dict[str, Any]:
        return self._answer(self.session.delete(f"{self.base_url}/v1/upscale/{request_id}", timeout=30))

    def account(self) -> dict[str, Any]:
        return self._answer(self.session.get(f"{self.base_url}/v1/account", timeout=30))


def verify_webhook(signature_header: str, body: bytes, secret: str, tolerance: int = 300) -> bool:
    """Check ``Artnex-Signature: t=<unix time>,v1=<hex>[,v1=<hex>]`` against the raw body.

    Each v1 is HMAC-SHA256(secret, "<t>.<body>"); more than one appears while a rotated secret
    is in its grace period. Refuse old timestamps so a captured delivery cannot be replayed.
    """
    items = [part.split("=", 1) for part in signature_header.split(",") if "=" in part]
    timestamps = [value for key, value in items if key.strip() == "t"]
    if len(timestamps) != 1 or not timestamps[0].isdigit() or abs(time.time() - int(timestamps[0])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), timestamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, value.strip()) for key, value in items if key.strip() == "v1")


def webhook_server(secret: str, on_result: Callable[[dict[str, Any]], None],
                   host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """A minimal receiver: verifies each delivery, answers 2xx quickly, hands on the result.
    Answer 2xx only once the result is safely yours: anything else is retried with back-off."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if not verify_webhook(self.headers.get("Artnex-Signature", ""), body, secret):
                self.send_response(400)
                self.end_headers()
                return
            on_result(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image")
    parser.add_argument("--scale", type=float, default=2)
    parser.add_argument("--async", dest="respond_async", action="store_true")
    parser.add_argument("--url", default=os.environ.get("ARTNEX_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--key", default=os.environ.get("ARTNEX_KEY", ""))
    args = parser.parse_args(argv)
    client = Artnex(args.url, args.key)
    try:
        result = client.upscale(args.image, scale=args.scale, respond_async=args.respond_async)
        if args.respond_async:
            print(f"accepted {result['request_id']}; polling {result['status_url']}", file=sys.stderr)
            result = client.wait(result["request_id"])
    except ArtnexError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0 if result.get("success") else 1


if __name__ == "__main__":
    sys.exit(main())
