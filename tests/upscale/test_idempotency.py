"""Idempotency-Key: a retry returns the original answer and is charged once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from artnex import errors
from billing import ledger
from billing.models import LedgerEntry
from tests.images import data_uri, image_bytes
from upscale import services
from upscale.idempotency import store
from upscale.idempotency.models import IdempotencyRecord
from upscale.models import UpscaleRequest

pytestmark = pytest.mark.django_db(transaction=True)
BODY = {"image": data_uri(image_bytes()), "scale": 2}


def charges(customer) -> int:
    return LedgerEntry.objects.filter(account=customer.account, kind="charge").count()


def test_same_key_same_body_replays_and_charges_once(v1, customer) -> None:
    first = v1.post(BODY, customer.key, **{"Idempotency-Key": "order-42"})
    # Same fields in another order and spacing: the same request.
    second = v1.post(json.loads(json.dumps({"scale": 2, **BODY})), customer.key, **{"Idempotency-Key": "order-42"})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert charges(customer) == 1 and customer.refresh().credits == 900
    assert UpscaleRequest.objects.filter(account=customer.account).count() == 1


def test_same_key_different_body_is_409(v1, customer) -> None:
    assert v1.post(BODY, customer.key, **{"Idempotency-Key": "k1"}).status_code == 200
    conflict = v1.post({**BODY, "scale": 3}, customer.key, **{"Idempotency-Key": "k1"})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    assert charges(customer) == 1


def test_keys_belong_to_one_account(v1, make_customer) -> None:
    a, b = make_customer(), make_customer()
    assert v1.post(BODY, a.key, **{"Idempotency-Key": "shared"}).status_code == 200
    other = v1.post({**BODY, "scale": 3}, b.key, **{"Idempotency-Key": "shared"})
    assert other.status_code == 200 and other.json()["width"] == 72


def test_key_expires_after_24_hours(v1, customer) -> None:
    first = v1.post(BODY, customer.key, **{"Idempotency-Key": "daily"}).json()
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        again = v1.post(BODY, customer.key, **{"Idempotency-Key": "daily"}).json()
    assert again["request_id"] != first["request_id"] and charges(customer) == 2


def test_an_uncharged_error_is_not_kept(v1, make_customer) -> None:
    customer = make_customer(credits=50)
    refused = v1.post(BODY, customer.key, **{"Idempotency-Key": "retry-me"})
    assert refused.status_code == 402
    ledger.grant(customer.account.pk, 100, reason="top-up")
    retried = v1.post(BODY, customer.key, **{"Idempotency-Key": "retry-me"})
    assert retried.status_code == 200 and charges(customer) == 1


def test_async_answer_is_replayed(v1, customer, monkeypatch) -> None:
    monkeypatch.setattr(services.process_upscale, "apply_async", lambda args, **options: None)
    body = {**BODY, "async": True}
    first = v1.post(body, customer.key, **{"Idempotency-Key": "job-1"})
    second = v1.post(body, customer.key, **{"Idempotency-Key": "job-1"})
    assert first.status_code == second.status_code == 202
    assert first.json()["request_id"] == second.json()["request_id"]
    assert second["Location"] == first["Location"]
    # Async through the Prefer header is a different request from the synchronous one.
    assert v1.post(BODY, customer.key, **{"Idempotency-Key": "job-1"}).status_code == 409


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve"])
def test_malformed_key(v1, customer, key) -> None:
    response = v1.post(BODY, customer.key, **{"Idempotency-Key": key})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"


def test_a_duplicate_waits_for_the_first_then_replays(v1, customer, monkeypatch) -> None:
    """The first request holds the key (record committed, no answer and no upscale recorded
    yet); a duplicate polls until the answer is there. The first one's finishing is played on
    the duplicate's first wait, so the test runs in one thread (the integration tier races two
    real requests)."""
    from upscale.idempotency.fingerprint import fingerprint

    record = IdempotencyRecord.objects.create(account=customer.account, key="race",
                                              fingerprint=fingerprint(BODY, respond_async=False))
    first = {"success": True, "request_id": "req_ups_first"}
    waits: list[float] = []

    def first_finishes_meanwhile(seconds: float) -> None:
        waits.append(seconds)
        IdempotencyRecord.objects.filter(pk=record.pk).update(response_status=200, response_body=first)

    monkeypatch.setattr(store, "_pause", first_finishes_meanwhile)
    duplicate = v1.post(BODY, customer.key, **{"Idempotency-Key": "race"})
    assert waits and duplicate.status_code == 200 and duplicate.json() == first
    assert duplicate["Idempotent-Replayed"] == "true" and charges(customer) == 0


def test_a_duplicate_takes_over_when_the_first_failed(v1, customer, monkeypatch) -> None:
    record = IdempotencyRecord.objects.create(account=customer.account, key="k", fingerprint="x" * 64)
    monkeypatch.setattr(store, "_pause", lambda seconds: store.release(record))
    # The in-progress record has another body: a conflict, whatever its state.
    assert v1.post(BODY, customer.key, **{"Idempotency-Key": "k"}).status_code == 409
    from upscale.idempotency.fingerprint import fingerprint

    IdempotencyRecord.objects.filter(pk=record.pk).update(fingerprint=fingerprint(BODY, respond_async=False))
    response = v1.post(BODY, customer.key, **{"Idempotency-Key": "k"})
    assert response.status_code == 200 and charges(customer) == 1


def test_an_abandoned_key_is_freed(v1, customer, settings) -> None:
    """A first request whose process died never completes its record: after the longest
    possible wait, the key is usable again."""
    from upscale.idempotency.fingerprint import fingerprint

    IdempotencyRecord.objects.create(account=customer.account, key="dead",
                                     fingerprint=fingerprint(BODY, respond_async=False))
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.ARTNEX_WAIT_SECONDS + 61)):
        response = v1.post(BODY, customer.key, **{"Idempotency-Key": "dead"})
    assert response.status_code == 200 and charges(customer) == 1


def _waiter_died(key: str) -> UpscaleRequest:
    """What a web process killed while its client waited leaves behind: the key's record never
    completed, the upscale charged and finished by a worker, its link never handed out."""
    IdempotencyRecord.objects.filter(key=key).update(response_status=None, response_body=None, request_id="")
    UpscaleRequest.objects.filter(idempotency_key=key).update(delivered_at=None)
    return UpscaleRequest.objects.get(idempotency_key=key)


def test_a_retry_after_the_web_process_died_gets_the_first_result_charged_once(v1, customer, settings) -> None:
    """The client's connection dropped with its process; its retry must not wait
    ARTNEX_WAIT_SECONDS for an answer no one will give, then 409 while its credits stay
    charged for a result no one received. It answers the first request's upscale instead."""
    settings.ARTNEX_WAIT_SECONDS = 1  # before the fix, the retry's wait for the dead first request
    first = v1.post(BODY, customer.key, **{"Idempotency-Key": "dropped"}).json()
    row = _waiter_died("dropped")
    retry = v1.post(BODY, customer.key, **{"Idempotency-Key": "dropped"})
    assert retry.status_code == 200, retry.content
    assert retry.json() == first and retry["Idempotent-Replayed"] == "true"
    row.refresh_from_db()
    assert row.delivered_at is not None and charges(customer) == 1 and customer.refresh().credits == 900
    # The answer is kept: a further retry is a plain replay.
    assert v1.post(BODY, customer.key, **{"Idempotency-Key": "dropped"}).json() == first


def test_a_retry_after_the_web_process_died_gets_the_refunded_failure(v1, customer, settings) -> None:
    """The dead waiter's job failed meanwhile (refunded): the retry answers that failure, and
    the key is free for the next retry to do the work afresh."""
    settings.ARTNEX_WAIT_SECONDS = 1
    v1.post(BODY, customer.key, **{"Idempotency-Key": "dropped"})
    row = _waiter_died("dropped")
    from upscale import lifecycle

    assert lifecycle.abandon(row.request_id, UpscaleRequest.FailureCode.UPSCALE_TIMEOUT, "no one received it")
    retry = v1.post(BODY, customer.key, **{"Idempotency-Key": "dropped"})
    assert retry.status_code == 504 and retry.json()["error"]["code"] == "upscale_timeout"
    assert customer.refresh().credits == 1000
    again = v1.post(BODY, customer.key, **{"Idempotency-Key": "dropped"})
    assert again.status_code == 200 and again.json()["request_id"] != row.request_id
    assert customer.refresh().credits == 900


def test_a_retry_takes_over_a_key_whose_first_request_died_before_recording_its_upscale(
        v1, customer, settings) -> None:
    """The web process died (or the database stopped) between the key's claim and the upscale's
    row: nothing was charged, and no one will ever complete the key. A retry a few seconds on
    takes it over and does the work, instead of waiting ARTNEX_WAIT_SECONDS for a 409."""
    from upscale.idempotency.fingerprint import fingerprint

    settings.ARTNEX_WAIT_SECONDS = 1  # before the fix, the retry's wait for the dead first request
    IdempotencyRecord.objects.create(account=customer.account, key="cut",
                                     fingerprint=fingerprint(BODY, respond_async=False))
    with time_machine.travel(timezone.now() + store.TAKEOVER_AFTER + timedelta(seconds=1)):
        retry = v1.post(BODY, customer.key, **{"Idempotency-Key": "cut"})
    assert retry.status_code == 200, retry.content
    assert charges(customer) == 1 and IdempotencyRecord.objects.get(key="cut").completed


def test_a_first_request_whose_key_was_taken_over_charges_nothing(customer) -> None:
    """Slow rather than dead (a long image download): once a retry took its key over, the first
    request must not charge as well. Its key record is checked under the charge's lock."""
    from tests.upscale.test_services import source

    record = IdempotencyRecord.objects.create(account=customer.account, key="slow", fingerprint="x" * 64)
    IdempotencyRecord.objects.filter(pk=record.pk).delete()  # the retry took it over
    with pytest.raises(errors.IdempotencyConflict):
        services.submit(account=customer.account, source=source(), scale=2, idempotency_key="slow",
                        idempotency_record_id=record.pk)
    assert charges(customer) == 0 and not UpscaleRequest.objects.exists()


def test_a_retry_publishes_the_job_again_when_the_first_process_died_before_publishing(
        v1, customer, settings, monkeypatch) -> None:
    """The web process was killed after committing the charged row and before publishing its
    task (seen in bench/load.py's web kill): no message exists. The retry must get the upscale
    run, charged once, instead of waiting ARTNEX_WAIT_SECONDS for a job no worker will see and
    then a refunded 504."""
    from upscale.idempotency.fingerprint import fingerprint
    from upscale.intake import ImageSource

    settings.ARTNEX_WAIT_SECONDS = 1  # without the fix, the retry's wait ends in a 504
    record = IdempotencyRecord.objects.create(account=customer.account, key="lost",
                                              fingerprint=fingerprint(BODY, respond_async=False))
    with monkeypatch.context() as patched:
        patched.setattr(services, "enqueue", lambda request_id: None)  # the process dies before publishing
        row = services.submit(account=customer.account, source=ImageSource(image_bytes(), "data"), scale=2,
                              idempotency_key="lost", idempotency_record_id=record.pk, wait_seconds=1)
    assert row.status == UpscaleRequest.Status.QUEUED and charges(customer) == 1
    retry = v1.post(BODY, customer.key, **{"Idempotency-Key": "lost"})
    assert retry.status_code == 200, retry.content
    assert retry.json()["request_id"] == row.request_id and retry["Idempotent-Replayed"] == "true"
    row.refresh_from_db()
    assert row.status == UpscaleRequest.Status.SUCCEEDED and row.delivered_at is not None
    assert charges(customer) == 1 and customer.refresh().credits == 900
