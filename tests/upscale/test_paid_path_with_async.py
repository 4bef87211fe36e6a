"""The paid path's refunds (issue 7) meet the async API (issue 11): a result that can still be
fetched, by polling or from a webhook, is never refunded as abandoned, and a result handed out
by a status poll keeps its charge."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from billing.models import LedgerEntry
from tests.asgi import upscale_then_hang_up
from tests.images import data_uri, image_bytes
from upscale import lifecycle, services, tasks
from upscale.models import UpscaleRequest

pytestmark = pytest.mark.django_db(transaction=True)
IMAGE = data_uri(image_bytes())
FAR_LATER = timedelta(days=2)


@pytest.fixture
def no_worker(monkeypatch) -> list[str]:
    queued: list[str] = []
    monkeypatch.setattr(services, "enqueue", queued.append)
    return queued


@pytest.fixture
def revoked(monkeypatch) -> list[str]:
    names: list[str] = []
    monkeypatch.setattr(tasks.process_upscale.app.control, "revoke", lambda task_id, **kw: names.append(task_id))
    return names


@pytest.fixture
def web_process_dies(monkeypatch) -> None:
    def dies(request_id, gone=None):
        raise SystemExit  # the web process dies after the charge, before any answer

    monkeypatch.setattr(services, "wait_for_result", dies)


def charges(request_id: str) -> list[str]:
    return sorted(LedgerEntry.objects.filter(request_id=request_id).values_list("kind", flat=True))


def test_an_async_job_has_no_waiters_deadline_and_a_finished_one_is_never_refunded(v1, customer, no_worker) -> None:
    accepted = v1.post({"image": IMAGE, "async": True}, customer.key).json()
    row = UpscaleRequest.objects.get(request_id=accepted["request_id"])
    assert row.wait_deadline is None

    with time_machine.travel(FAR_LATER):  # picked up late: nobody gave it up, so it runs
        tasks.process_upscale(row.request_id)
        assert tasks.fail_stale() == 0
    row.refresh_from_db()
    assert row.status == "succeeded"
    assert customer.refresh().credits == 900 and charges(row.request_id) == ["charge"]
    status = v1.get(f"/v1/upscale/{row.request_id}", customer.key).json()
    assert status["status"] == "succeeded" and status["image_url"]


def test_a_webhook_request_that_waits_still_has_no_waiters_deadline(v1, customer, no_worker, settings) -> None:
    settings.ARTNEX_ALLOW_PRIVATE_URLS = True  # the receiver is on loopback; no worker, so it is never called
    settings.ARTNEX_WAIT_SECONDS = 0.2
    response = v1.post({"image": IMAGE, "webhook_url": "http://127.0.0.1:9/hooks"}, customer.key)
    assert response.status_code == 504  # nothing ran: the synchronous answer timed out, as before
    row = UpscaleRequest.objects.get()
    assert row.wait_deadline is None and row.webhook_url


def test_a_result_fetched_by_polling_after_the_waiter_died_keeps_its_charge(
        v1, customer, no_worker, web_process_dies) -> None:
    with pytest.raises(SystemExit):
        v1.post({"image": IMAGE}, customer.key)
    row = UpscaleRequest.objects.get()
    assert row.wait_deadline is not None
    tasks.process_upscale(row.request_id)

    status = v1.get(f"/v1/upscale/{row.request_id}", customer.key).json()
    assert status["status"] == "succeeded" and status["image_url"]
    row.refresh_from_db()
    assert row.delivered_at is not None  # the poll handed the link out
    with time_machine.travel(row.wait_deadline + timedelta(minutes=10)):
        assert tasks.fail_stale() == 0
    assert customer.refresh().credits == 900 and charges(row.request_id) == ["charge"]


def test_a_poll_after_the_stale_sweep_says_the_credits_were_refunded(
        v1, customer, no_worker, web_process_dies) -> None:
    with pytest.raises(SystemExit):
        v1.post({"image": IMAGE}, customer.key)
    row = UpscaleRequest.objects.get()
    with time_machine.travel(row.wait_deadline + timedelta(minutes=10)):
        assert tasks.fail_stale() == 1

    status = v1.get(f"/v1/upscale/{row.request_id}", customer.key).json()
    assert status["status"] == "failed" and status["error"]["code"] == "upscale_timeout"
    message = status["error"]["message"]
    assert "100 credits charged for it were refunded" in message and "No credits were charged" not in message


def test_a_poll_and_the_waiter_may_both_hand_the_link_out(api, customer, no_worker, monkeypatch) -> None:
    real_wait = services.wait_for_result

    def finished_and_polled_meanwhile(request_id, gone=None):
        tasks.process_upscale(request_id)
        assert lifecycle.deliver(request_id)  # a GET /v1/upscale/{id} while the waiter polls
        return real_wait(request_id, gone)

    monkeypatch.setattr(services, "wait_for_result", finished_and_polled_meanwhile)
    response = api.upscale({"image": IMAGE}, key=customer.key)
    assert response.status_code == 200, response.content
    assert customer.refresh().credits == 900


def test_a_webhook_request_whose_client_hangs_up_runs_on_for_its_webhook(
        customer, no_worker, revoked, settings) -> None:
    settings.ARTNEX_ALLOW_PRIVATE_URLS = True
    upscale_then_hang_up(customer.key, {"image": IMAGE, "webhook_url": "http://127.0.0.1:9/hooks"},
                         when=UpscaleRequest.objects.filter(status="queued").exists)

    row = UpscaleRequest.objects.get()
    assert row.status == "queued" and revoked == []  # not given up: the webhook will carry the result
    assert customer.refresh().credits == 900
    tasks.process_upscale(row.request_id)
    with time_machine.travel(FAR_LATER):
        assert tasks.fail_stale() == 0
    row.refresh_from_db()
    assert row.status == "succeeded" and charges(row.request_id) == ["charge"]
