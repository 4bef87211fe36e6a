"""Parallel requests against one balance, on PostgreSQL row locks and a real worker: each
credit is spent once, the balance never goes below zero, and nobody gets a 5xx."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings

from billing import ledger
from billing.models import LedgerEntry
from tests.images import data_uri, image_bytes
from tests.integration import Answer, needs_services, post_upscale
from upscale.models import UpscaleRequest

pytestmark = [pytest.mark.integration, needs_services, pytest.mark.django_db(transaction=True)]
PARALLEL = 8


def test_parallel_requests_spend_each_credit_once(live_server, worker, make_customer) -> None:
    price = settings.ARTNEX_PRICE_CREDITS
    affordable = PARALLEL // 2
    # The pro plan's daily quota is far above PARALLEL: only the balance can refuse here.
    customer = make_customer(credits=affordable * price, plan="pro")
    body = json.dumps({"image": data_uri(image_bytes("PNG", (8, 8)))}).encode()
    start = threading.Barrier(PARALLEL, timeout=60)

    def send(_: int) -> Answer:
        start.wait()  # all requests in flight together, racing for the same account row
        return post_upscale(live_server.url, customer.key, body)

    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(send, range(PARALLEL)))

    seen = [(answer.status, answer.body[:300]) for answer in answers]
    assert sorted(answer.status for answer in answers) == [200] * affordable + [402] * (PARALLEL - affordable), seen
    for answer in answers:
        body = answer.json()
        if answer.status == 200:
            assert body["success"] is True and body["credits_used"] == price
        else:
            assert body["success"] is False and body["error"]["code"] == "insufficient_credits"

    account = customer.refresh()
    assert account.credits == 0
    assert ledger.ledger_balance(account.pk) == 0
    entries = LedgerEntry.objects.filter(account=account)
    assert entries.filter(kind=LedgerEntry.Kind.CHARGE).count() == affordable
    assert not entries.filter(kind=LedgerEntry.Kind.REFUND).exists()
    assert not entries.filter(balance_after__lt=0).exists()  # at no point in the history
    requests = UpscaleRequest.objects.filter(account=account)
    assert sorted(requests.values_list("status", flat=True)) == ["succeeded"] * affordable
