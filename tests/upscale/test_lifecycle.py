"""upscale.lifecycle directly: create's domain errors, and transitions as conditional updates."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from billing.models import LedgerEntry
from tests.images import image_bytes
from upscale import inspect, lifecycle
from upscale.ids import new_request_id
from upscale.intake import ImageSource
from upscale.models import UpscaleRequest
from upscale.quota import QuotaExhausted

pytestmark = pytest.mark.django_db
Status = UpscaleRequest.Status


def create(customer, request_id: str | None = None) -> UpscaleRequest:
    data = image_bytes("PNG", (10, 8))
    info = inspect.inspect_image(data)
    row, _ = lifecycle.create(
        request_id=request_id or new_request_id(), account_id=customer.account.pk, api_key=None,
        source=ImageSource(data, "data"), info=info, scale=2.0, output_size=(20, 16), model="m", input_file="x",
    )
    return row


def test_create_charges_and_records_queued(customer) -> None:
    row = create(customer)
    assert (row.status, row.credits_charged, row.input_width, row.input_height) == (Status.QUEUED, 100, 10, 8)
    assert customer.refresh().credits == 900


def test_create_refuses_with_domain_errors_and_writes_nothing(make_customer) -> None:
    poor = make_customer(credits=50)
    with pytest.raises(lifecycle.NotEnoughCredits) as refused:
        create(poor)
    assert (refused.value.price, refused.value.balance) == (100, 50)
    limited = make_customer(daily_quota=0)
    with pytest.raises(QuotaExhausted) as exhausted:
        create(limited)
    assert exhausted.value.quota.limit == 0
    assert not UpscaleRequest.objects.exists() and not LedgerEntry.objects.filter(kind="charge").exists()


def test_succeed_sets_the_24_hour_expiry_and_timing(customer) -> None:
    row = create(customer)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert lifecycle.claim(row.request_id)
    with time_machine.travel(start + timedelta(seconds=3), tick=False):
        assert lifecycle.succeed(row.request_id, result_file="results/r/upscaled.png", output_format="PNG",
                                 output_bytes=123, width=20, height=16, model="m")
    row.refresh_from_db()
    assert (row.status, row.processing_ms, row.output_bytes) == (Status.SUCCEEDED, 3000, 123)
    assert row.expires_at == start + timedelta(seconds=3) + timedelta(hours=24)
    # A terminal row moves no more: no late failure refunds a delivered result.
    assert not lifecycle.fail(row.request_id, lifecycle.FailureCode.UPSCALE_TIMEOUT, "late")
    assert customer.refresh().credits == 900


def test_succeed_needs_a_claim(customer) -> None:
    row = create(customer)
    assert not lifecycle.succeed(row.request_id, result_file="r", output_format="PNG", output_bytes=1, width=1,
                                 height=1, model="m")
    assert UpscaleRequest.objects.get(pk=row.pk).status == Status.QUEUED


def test_fail_records_the_code_and_refunds_once(customer) -> None:
    row = create(customer)
    assert lifecycle.fail(row.request_id, lifecycle.FailureCode.SERVICE_UNAVAILABLE, "queue down")
    row.refresh_from_db()
    assert (row.status, row.error_code, row.credits_charged) == (Status.FAILED, "service_unavailable", 0)
    assert not lifecycle.claim(row.request_id)
    assert customer.refresh().credits == 1000
    assert LedgerEntry.objects.filter(request_id=row.request_id, kind="refund").count() == 1
