"""Concurrent duplicates of one Idempotency-Key on PostgreSQL with a real worker: one upscale,
one charge, every caller gets the first request's answer."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from billing.models import LedgerEntry
from tests.images import data_uri, image_bytes
from tests.integration import Answer, http, needs_services
from upscale.models import UpscaleRequest

pytestmark = [pytest.mark.integration, needs_services, pytest.mark.django_db(transaction=True)]
PARALLEL = 6


@pytest.mark.parametrize("respond_async", [False, True])
def test_concurrent_duplicates_are_one_request(live_server, worker, make_customer, respond_async) -> None:
    customer = make_customer(credits=1000, plan="pro")
    body = json.dumps({"image": data_uri(image_bytes("PNG", (8, 8))), "async": respond_async}).encode()
    start = threading.Barrier(PARALLEL, timeout=60)

    def send(_: int) -> Answer:
        start.wait()
        return http("POST", f"{live_server.url}/v1/upscale", body,
                    {"Authorization": f"Bearer {customer.key}", "Content-Type": "application/json",
                     "Idempotency-Key": "same-order-7"}, timeout=180)

    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(send, range(PARALLEL)))

    expected = 202 if respond_async else 200
    assert [a.status for a in answers] == [expected] * PARALLEL, [a.body[:300] for a in answers]
    assert len({a.json()["request_id"] for a in answers}) == 1
    assert UpscaleRequest.objects.filter(account=customer.account).count() == 1
    assert LedgerEntry.objects.filter(account=customer.account, kind="charge").count() == 1
    assert customer.refresh().credits == 900
