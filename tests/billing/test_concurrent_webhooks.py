"""Deliveries racing on PostgreSQL: the same event (and two events about one payment) sent
at once through a real server pay out once, and every delivery is answered 200."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from billing import ledger
from billing.models import LedgerEntry, StripeEvent
from tests.integration import Answer, http, needs_services

from .conftest import WEBHOOK_URL, checkout_row, event, session_object, sign

pytestmark = [pytest.mark.integration, needs_services, pytest.mark.django_db(transaction=True)]
PARALLEL = 8


def test_racing_deliveries_pay_once(live_server, fake_stripe, make_customer, pack_factory) -> None:
    customer = make_customer(credits=0)
    row = checkout_row(customer.account, pack=pack_factory())
    session = session_object(row, "cus_race")
    same = event("checkout.session.completed", session)
    other = event("checkout.session.async_payment_succeeded", session)
    payloads = [json.dumps(same if n % 2 else other).encode() for n in range(PARALLEL)]
    start = threading.Barrier(PARALLEL, timeout=60)

    def deliver(payload: bytes) -> Answer:
        start.wait()
        return http("POST", live_server.url + WEBHOOK_URL, payload,
                    {"Content-Type": "application/json", "Stripe-Signature": sign(payload)}, timeout=60)

    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(deliver, payloads))

    assert [a.status for a in answers] == [200] * PARALLEL, [a.body[:200] for a in answers]
    assert StripeEvent.objects.count() == 2
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1
    account = customer.refresh()
    assert account.credits == row.credits == ledger.ledger_balance(account.pk)
