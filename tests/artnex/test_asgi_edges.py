"""The web entry point (artnex.asgi) driven as the ASGI server drives it: a client that hangs
up while waiting, and request bodies over the limit."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from artnex.asgi import application
from tests.asgi import Client, scope, upscale_then_hang_up
from tests.images import data_uri, image_bytes
from tests.refunds import assert_refunded
from upscale import in_flight, services, storage, tasks
from upscale.models import UpscaleRequest


@pytest.mark.django_db(transaction=True)
def test_a_client_that_hangs_up_while_waiting_is_refunded_and_its_job_revoked(customer, monkeypatch) -> None:
    monkeypatch.setattr(services, "enqueue", lambda request_id: None)  # the worker is busy elsewhere
    revoked: list[str] = []
    monkeypatch.setattr(tasks.process_upscale.app.control, "revoke", lambda task_id, **kw: revoked.append(task_id))
    upscale_then_hang_up(customer.key, {"image": data_uri(image_bytes())},
                         when=UpscaleRequest.objects.filter(status="queued").exists)

    row = UpscaleRequest.objects.get()
    assert (row.status, row.credits_charged) == ("failed", 0)
    assert_refunded(customer, row.request_id)
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
    # Hang up while the image is still downloading, then let the download finish.
    client = upscale_then_hang_up(customer.key, {"image": "https://images.example.com/slow.png"},
                                  when=downloading.is_set, settle=0.2, then=finish.set)

    row = UpscaleRequest.objects.get()
    assert (row.status, row.credits_charged) == ("failed", 0)
    assert customer.refresh().credits == 1000
    assert not any(m["type"] == "http.response.start" for m in client.sent)
    in_flight.acquire(customer.account.pk, 1).release()  # its in-flight slot was given back
