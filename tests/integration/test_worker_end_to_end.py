"""Through HTTP and a real Celery worker process: the contract's success answer, and the
upscaled file behind the link."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from PIL import Image

from billing import ledger
from tests.images import data_uri, image_bytes
from tests.integration import http, needs_services, post_upscale
from upscale import storage
from upscale.models import UpscaleRequest

pytestmark = [pytest.mark.integration, needs_services, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("fmt", "mime", "size", "scale", "expected"),
    [
        ("PNG", "image/png", (24, 16), 2, (48, 32)),
        ("JPEG", "image/jpeg", (20, 15), 4, (80, 60)),
        ("WEBP", "image/webp", (20, 15), 1.5, (30, 23)),
    ],
)
def test_upscale_through_the_worker(live_server, worker, make_customer, fmt, mime, size, scale, expected) -> None:
    assert not settings.CELERY_TASK_ALWAYS_EAGER  # the worker process, not this one, runs the task
    customer = make_customer(credits=1000)

    answer = post_upscale(live_server.url, customer.key, {"image": data_uri(image_bytes(fmt, size), mime),
                                                          "scale": scale})

    assert answer.status == 200, answer.body
    body = answer.json()
    assert body["success"] is True
    assert body["request_id"].startswith("req_ups_")
    assert body["credits_used"] == settings.ARTNEX_PRICE_CREDITS
    assert body["image_url"].startswith(f"{live_server.url}/")
    assert (body["width"], body["height"]) == expected
    row = UpscaleRequest.objects.get(request_id=body["request_id"])
    assert row.status == "succeeded" and row.started_at is not None and row.finished_at is not None
    assert not storage.exists(row.input_file)  # the worker removed the input from shared storage
    assert customer.refresh().credits == 1000 - settings.ARTNEX_PRICE_CREDITS == ledger.ledger_balance(
        customer.account.pk)

    download = http("GET", body["image_url"])  # no credentials: the signed link is enough
    assert download.status == 200
    assert download.headers["Content-Type"] == mime
    result = Image.open(io.BytesIO(download.body))
    assert result.format == fmt
    assert result.size == expected
