"""Failures we cause are 5xx in the contract's shape, and are refunded in the ledger."""

from __future__ import annotations

import pytest

from billing import ledger
from tests.images import data_uri, image_bytes
from tests.refunds import assert_refunded
from upscale import engine, services, storage, tasks
from upscale.models import UpscaleRequest

pytestmark = pytest.mark.django_db(transaction=True)
BODY = {"image": data_uri(image_bytes())}


def test_engine_failure_is_refunded(api, customer, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise engine.EngineError("the model produced NaNs")

    monkeypatch.setattr(engine, "upscale_bytes", broken)
    response = api.upscale(BODY, key=customer.key)
    assert response.status_code == 500
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == "processing_failed"
    assert_refunded(customer, body["request_id"])
    row = UpscaleRequest.objects.get(request_id=body["request_id"])
    assert (row.status, row.error_code, row.credits_charged) == ("failed", "processing_failed", 0)
    assert not storage.exists(row.input_file)


def test_unexpected_crash_is_refunded(api, customer, monkeypatch) -> None:
    def crash(*args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr(engine, "upscale_bytes", crash)
    response = api.upscale(BODY, key=customer.key)
    assert response.status_code == 500
    assert_refunded(customer, response.json()["request_id"])


def test_queue_down_is_503_and_refunded(api, customer, monkeypatch) -> None:
    def down(*args, **kwargs):
        raise ConnectionRefusedError("broker unreachable")

    monkeypatch.setattr(tasks.process_upscale, "apply_async", down)
    response = api.upscale(BODY, key=customer.key)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert_refunded(customer, response.json()["request_id"])


def test_no_worker_in_time_is_504_refunded_and_late_result_discarded(api, customer, monkeypatch, settings) -> None:
    settings.ARTNEX_WAIT_SECONDS = 0.3
    monkeypatch.setattr(services, "enqueue", lambda request_id: None)  # nobody picks the job up
    response = api.upscale(BODY, key=customer.key)
    assert response.status_code == 504
    request_id = response.json()["request_id"]
    assert response.json()["error"]["code"] == "upscale_timeout"
    assert_refunded(customer, request_id)
    # The worker shows up late: the request is not claimed again, nothing is charged or stored.
    tasks.process_upscale(request_id)
    row = UpscaleRequest.objects.get(request_id=request_id)
    assert row.status == "failed" and not row.result_file
    assert_refunded(customer, request_id)


def test_refund_is_idempotent(customer) -> None:
    ledger.charge(customer.account.pk, 100, "req_ups_test")
    assert ledger.refund("req_ups_test", "x") is not None
    assert ledger.refund("req_ups_test", "x") is None
    assert customer.refresh().credits == 1000


def test_stale_requests_are_failed_and_refunded(api, customer, monkeypatch, settings) -> None:
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    monkeypatch.setattr(services, "enqueue", lambda request_id: None)

    def dies(request_id, gone=None):  # the web process "dies" before answering
        raise SystemExit

    monkeypatch.setattr(services, "wait_for_result", dies)
    with pytest.raises(SystemExit):
        api.upscale(BODY, key=customer.key)
    row = UpscaleRequest.objects.get()
    assert row.status == "queued" and customer.refresh().credits == 900
    assert tasks.fail_stale() == 0
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert tasks.fail_stale() == 1
    assert_refunded(customer, row.request_id)


def test_a_database_outage_mid_job_runs_the_job_again_once_it_is_back(api, customer, monkeypatch) -> None:
    """PostgreSQL restarted just after a worker claimed the job. The error acknowledged the
    message, so no one would ever run the job: its row stayed processing and charged until the
    stale sweep, and a waiting client (or its Idempotency-Key retry) waited out the whole wait
    for a 504. The job is retried instead, and takes its own row over."""
    from django.db import OperationalError, connection

    monkeypatch.setattr(services.process_upscale, "apply_async", lambda args, **options: None)
    request_id = api.upscale({**BODY, "async": True}, key=customer.key).json()["request_id"]
    outage = {"claimed": False, "refused": 0}

    def restarting(execute, sql, params, many, context):
        if outage["claimed"] and outage["refused"] < 2:  # the claim's UPDATE went through; then it stops
            outage["refused"] += 1
            raise OperationalError("terminating connection due to administrator command")
        outage["claimed"] = outage["claimed"] or (sql.startswith("UPDATE") and "started_at" in sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(restarting):
        tasks.process_upscale.apply((request_id,), task_id=request_id)
    row = UpscaleRequest.objects.get(request_id=request_id)
    assert outage["refused"] == 2 and row.status == "succeeded", (row.status, row.error_code)
    assert customer.refresh().credits == 900
