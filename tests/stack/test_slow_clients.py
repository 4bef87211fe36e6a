"""One customer cannot stall everyone: on the real ``make run`` stack (the Procfile under
honcho: gunicorn with a uvicorn worker, a Celery worker, beat; SQLite and local files), one key
sends 40 upscale requests whose image URL drips one byte every half second. While those
downloads are held open, /healthz answers, a finished result downloads and another customer's
upscale succeeds; then every slow request ends in a 4xx.

No timing thresholds: "answered while the slow downloads were still held open" is checked by
the drip server's own count of open connections. The latencies are printed for the docs.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.devstack.http import Answer, http
from tests.images import data_uri, image_bytes
from tests.stack.harness import PRICE, Stack

SLOW_REQUESTS = 40
IN_FLIGHT = 32  # the business plan's max_in_flight (accounts.plans.IN_FLIGHT_LIMITS)
_HANG_GUARD_S = 120.0  # not a measurement: a bound so that a broken server fails, not hangs


class DripServer:
    """Answers 200 with a Content-Length it never reaches: one byte every half second."""

    def __init__(self) -> None:
        self.open = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        drip = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with drip.lock:
                    drip.open += 1
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    while not drip.stop.wait(0.5):
                        self.wfile.write(b"\x89")
                        self.wfile.flush()
                except OSError:
                    pass  # the fetcher gave up and closed the connection
                finally:
                    with drip.lock:
                        drip.open -= 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slow.png"

    def connections(self) -> int:
        with self.lock:
            return self.open


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("slow-clients")
    running = Stack(folder / "var", folder / "stack.log")
    # A short fetch deadline (2 + 2 * 6 = 14 s instead of 35 s) keeps the test short; the
    # drip never finishes an image, so each slow request runs into it.
    running.env.update(ARTNEX_FETCH_CONNECT_TIMEOUT="2", ARTNEX_FETCH_READ_TIMEOUT="6")
    with running.serving():
        yield running
    # The web process (the one these tests load) stopped cleanly; a clean stop of every process
    # is test_make_run_sqlite's to check.
    assert running.stopped_codes().get("web") == "0", running.output()


@pytest.fixture
def drip() -> Iterator[DripServer]:
    server = DripServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.server.shutdown()
        server.server.server_close()


def timed(call: Any) -> tuple[Answer, float]:
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def test_slow_image_urls_from_one_key_do_not_stall_anyone(stack: Stack, drip: DripServer) -> None:
    slow_key = stack.create_customer("slow@example.com", credits=SLOW_REQUESTS * PRICE, plan="business")
    other_key = stack.create_customer("other@example.com", credits=2 * PRICE)
    small = {"image": data_uri(image_bytes("PNG", (8, 8)))}
    finished = stack.upscale(other_key, small)
    assert finished.status == 200, f"{finished.body!r}\n{stack.tail()}"

    with ThreadPoolExecutor(SLOW_REQUESTS) as pool:
        slow = [pool.submit(stack.upscale, slow_key, {"image": drip.url}) for _ in range(SLOW_REQUESTS)]
        guard = time.monotonic() + _HANG_GUARD_S
        while drip.connections() < IN_FLIGHT:
            assert time.monotonic() < guard, f"only {drip.connections()} downloads started\n{stack.tail()}"
            time.sleep(0.05)

        health, health_s = timed(lambda: http("GET", f"{stack.url}/healthz", timeout=_HANG_GUARD_S))
        download, download_s = timed(lambda: http("GET", finished.json()["image_url"], timeout=_HANG_GUARD_S))
        upscale, upscale_s = timed(lambda: stack.upscale(other_key, small))
        held_throughout = drip.connections()

        answers = [future.result(timeout=_HANG_GUARD_S) for future in slow]

    print(json.dumps({"healthz_s": round(health_s, 3), "download_s": round(download_s, 3),
                      "other_upscale_s": round(upscale_s, 3), "slow_held": held_throughout}))
    assert health.status == 200 and health.json()["status"] == "ok"
    assert download.status == 200 and download.body.startswith(b"\x89PNG")
    assert upscale.status == 200, f"{upscale.body!r}\n{stack.tail()}"
    assert held_throughout == IN_FLIGHT, "all three answered while every slow download was still held open"

    statuses = sorted(answer.status for answer in answers)
    assert all(400 <= status < 500 for status in statuses), f"{statuses}\n{stack.tail()}"
    codes = sorted({answer.json()["error"]["code"] for answer in answers})
    assert codes == ["invalid_image_format", "rate_limit_exceeded"]
    assert statuses.count(429) == SLOW_REQUESTS - IN_FLIGHT, statuses
    # Failed downloads are free: only the other customer's two upscales were charged.
    balance = stack.manage("shell", "-c", "from accounts.models import Account; "
                           "print(Account.objects.get(user__email='slow@example.com').credits)")
    assert balance.strip().splitlines()[-1] == str(SLOW_REQUESTS * PRICE)


def test_an_oversized_body_is_answered_to_urllib(stack: Stack) -> None:
    """urllib writes the whole body before reading: the server must read it too (lingering)."""
    key = stack.create_customer("big@example.com", credits=PRICE)
    body = json.dumps({"image": "data:image/png;base64," + "A" * (16 * 1024 * 1024)}).encode()

    answer = http("POST", f"{stack.url}/v1/upscale", body,
                  {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})

    assert answer.status == 400, answer.body[:300]
    assert answer.json()["error"]["code"] == "image_too_large"
