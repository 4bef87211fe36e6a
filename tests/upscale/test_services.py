"""upscale.services and lifecycle, called directly as the portal and the async API will."""

from __future__ import annotations

import pytest

from artnex import errors
from billing import ledger
from billing.models import LedgerEntry
from tests.images import image_bytes
from upscale import lifecycle, services, storage
from upscale.intake import ImageSource
from upscale.models import UpscaleRequest

pytestmark = pytest.mark.django_db
FailureCode = UpscaleRequest.FailureCode


def source() -> ImageSource:
    return ImageSource(image_bytes("PNG", (24, 16)), "data")


def test_submit_without_a_key_charges_records_and_queues_on_commit(customer, monkeypatch,
                                                                    django_capture_on_commit_callbacks) -> None:
    queued: list[str] = []
    monkeypatch.setattr(services, "enqueue", queued.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        row = services.submit(account=customer.account, source=source(), scale=1.5, idempotency_key="k1",
                              webhook_url="https://example.com/hook")
        assert queued == []  # nothing is queued before the row is committed
    for callback in callbacks:
        callback()
    assert queued == [row.request_id]
    row.refresh_from_db()
    assert (row.status, row.api_key, row.output_width, row.output_height, row.credits_charged) == (
        "queued", None, 36, 24, 100)
    assert (row.idempotency_key, row.webhook_url) == ("k1", "https://example.com/hook")
    assert customer.refresh().credits == 900 == ledger.ledger_balance(customer.account.pk)
    assert storage.exists(row.input_file)


def test_quota_is_rechecked_at_charge_time(make_customer, monkeypatch) -> None:
    monkeypatch.setattr(services, "enqueue", lambda request_id: None)
    customer = make_customer(daily_quota=1)
    services.submit(account=customer.account, source=source(), scale=2)
    with pytest.raises(errors.RateLimitExceeded) as refused:
        services.submit(account=customer.account, source=source(), scale=2)
    assert refused.value.status == 429
    assert {"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
        refused.value.headers)
    assert refused.value.headers["X-RateLimit-Remaining"] == "0"
    assert UpscaleRequest.objects.count() == 1 and customer.refresh().credits == 900


def test_insufficient_credits_writes_nothing_and_keeps_no_file(make_customer) -> None:
    customer = make_customer(credits=99)
    inputs_before = set(storage.default_storage.listdir("inputs")[1]) if storage.exists("inputs") else set()
    with pytest.raises(errors.InsufficientCredits, match="costs 100 credits; the balance is 99"):
        services.submit(account=customer.account, source=source(), scale=2)
    assert not UpscaleRequest.objects.exists()
    assert LedgerEntry.objects.filter(kind="charge").count() == 0
    assert set(storage.default_storage.listdir("inputs")[1]) == inputs_before  # the saved input was deleted


def test_unknown_model_and_bad_image_are_contract_errors(customer) -> None:
    with pytest.raises(errors.InvalidModel):
        services.submit(account=customer.account, source=source(), scale=2, model="no-such-model")
    with pytest.raises(errors.InvalidImageFormat):
        services.submit(account=customer.account, source=ImageSource(b"not an image", "data"), scale=2)
    assert customer.refresh().credits == 1000


@pytest.mark.parametrize(("code", "error"), [
    (FailureCode.UPSCALE_TIMEOUT, errors.UpscaleTimeout),
    (FailureCode.SERVICE_UNAVAILABLE, errors.ServiceUnavailable),
    (FailureCode.PROCESSING_FAILED, errors.ProcessingFailed),
])
def test_wait_answers_the_failure_as_its_contract_error(customer, monkeypatch, code, error) -> None:
    monkeypatch.setattr(services, "enqueue", lambda request_id: None)
    row = services.submit(account=customer.account, source=source(), scale=2)
    assert lifecycle.fail(row.request_id, code, "test")
    with pytest.raises(error):
        services.wait(row.request_id)
    assert customer.refresh().credits == 1000


def test_transitions_happen_once(customer, monkeypatch) -> None:
    monkeypatch.setattr(services, "enqueue", lambda request_id: None)
    row = services.submit(account=customer.account, source=source(), scale=2)
    assert lifecycle.claim(row.request_id) and not lifecycle.claim(row.request_id)
    assert lifecycle.fail(row.request_id, FailureCode.PROCESSING_FAILED, "boom")
    assert not lifecycle.fail(row.request_id, FailureCode.PROCESSING_FAILED, "again")  # refunded once
    assert not lifecycle.succeed(row.request_id, result_file="x", output_format="PNG", output_bytes=1, width=1,
                                 height=1, model="m")
    kinds = sorted(LedgerEntry.objects.filter(request_id=row.request_id).values_list("kind", flat=True))
    assert kinds == ["charge", "refund"] and customer.refresh().credits == 1000
