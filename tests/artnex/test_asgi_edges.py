"""The web entry point (artnex.asgi) driven as the ASGI server drives it: a client that hangs
up while waiting, and request bodies over the limit."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from artnex.asgi import application
from billing.models import LedgerEntry
from tests.images import data_uri, image_bytes
from upscale import in_flight, services, storage, tasks
from upscale.models import UpscaleRequest


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


@pytest.mark.django_db(transaction=True)
def test_a_client_that_hangs_up_while_waiting_is_refunded_and_its_job_revoked(customer, monkeypatch) -> None:
    monkeypatch.setattr(services, "enqueue", lambda request_id: None)  # the worker is busy elsewhere
    revoked: list[str] = []
    monkeypatch.setattr(tasks.process_upscale.app.control, "revoke", lambda task_id, **kw: revoked.append(task_id))
    body = json.dumps({"image": data_uri(image_bytes())}).encode()
    client = Client([body])
    headers = {"Authorization": f"Bearer {customer.key}", "Content-Type": "application/json",
               "Content-Length": str(len(body)), "Host": "127.0.0.1"}

    async def converse() -> None:
        served = asyncio.create_task(application(scope("/v1/upscale", headers), client.receive, client.send))
        queued = sync_to_async(UpscaleRequest.objects.filter(status="queued").exists, thread_sensitive=False)
        while not await queued():
            await asyncio.sleep(0.02)
        client.hang_up.set()
        await asyncio.wait_for(served, timeout=60)

    asyncio.run(converse())

    row = UpscaleRequest.objects.get()
    assert (row.status, row.credits_charged) == ("failed", 0)
    assert customer.refresh().credits == 1000
    kinds = sorted(LedgerEntry.objects.filter(request_id=row.request_id).values_list("kind", flat=True))
    assert kinds == ["charge", "refund"]
    assert revoked == [row.request_id]
    assert not storage.exists(row.input_file)


def oversized(settings: Any, chunks: list[bytes], **headers: str) -> Client:
    client = Client(chunks)
    headers = {"Content-Type": "application/json", "Host": "127.0.0.1", **headers}
    asyncio.run(application(scope("/v1/upscale", headers), client.receive, client.send))
    return client


def test_a_declared_oversized_body_is_read_to_the_end_then_refused(settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    chunks = [b"x" * 400] * 10
    client = oversized(settings, chunks, **{"Content-Length": "4000"})
    assert client.status == 400
    assert client.json()["error"]["code"] == "image_too_large"
    assert client.json()["request_id"].startswith("req_ups_")
    assert client.read == 4000, "the whole body was drained before answering"


def test_an_undeclared_oversized_body_is_refused_too(settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = oversized(settings, [b"x" * 400] * 10)  # chunked: no Content-Length
    assert (client.status, client.json()["error"]["code"]) == (400, "image_too_large")
    assert client.read == 4000


def test_draining_stops_at_its_bound(settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.ARTNEX_DRAIN_MAX_BYTES = 2000
    client = oversized(settings, [b"x" * 500] * 100, **{"Content-Length": "50000"})
    assert client.status == 400
    assert client.read <= 2500


def test_a_client_expecting_100_continue_is_answered_without_sending_the_body(settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = oversized(settings, [b"x" * 4000], **{"Content-Length": "4000", "Expect": "100-continue"})
    assert client.status == 400 and client.read == 0


@pytest.mark.django_db(transaction=True)
def test_a_client_that_hangs_up_during_the_download_is_refunded_and_its_job_never_queued(
        customer, monkeypatch) -> None:
    from upscale import intake

    downloading, finish = threading.Event(), threading.Event()
    real_read = intake.read_image

    def slow_read(image):  # a slow image URL, as seen from the request's thread
        downloading.set()
        finish.wait(timeout=30)
        return real_read(data_uri(image_bytes()))

    monkeypatch.setattr(intake, "read_image", slow_read)
    queued: list[str] = []
    monkeypatch.setattr(services, "enqueue", lambda request_id: queued.append(request_id))
    monkeypatch.setattr(tasks.process_upscale.app.control, "revoke", lambda task_id, **kw: None)
    body = json.dumps({"image": "https://images.example.com/slow.png"}).encode()
    client = Client([body])
    headers = {"Authorization": f"Bearer {customer.key}", "Content-Type": "application/json",
               "Content-Length": str(len(body)), "Host": "127.0.0.1"}

    async def converse() -> None:
        served = asyncio.create_task(application(scope("/v1/upscale", headers), client.receive, client.send))
        while not downloading.is_set():
            await asyncio.sleep(0.02)
        client.hang_up.set()  # while the image is still downloading
        await asyncio.sleep(0.2)
        finish.set()
        await asyncio.wait_for(served, timeout=60)

    asyncio.run(converse())

    row = UpscaleRequest.objects.get()
    assert (row.status, row.credits_charged) == ("failed", 0)
    assert customer.refresh().credits == 1000
    assert not any(m["type"] == "http.response.start" for m in client.sent)
    in_flight.acquire(customer.account.pk, 1).release()  # its in-flight slot was given back
