"""Asynchronous mode and GET /v1/upscale/{id}: 202 at once, then the status, then the result."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from accounts.models import Plan
from accounts.plans import QUEUED_LIMITS
from billing import ledger
from tests.images import data_uri, image_bytes
from upscale import engine, services
from upscale.models import UpscaleRequest

from .conftest import path_of

pytestmark = pytest.mark.django_db(transaction=True)
IMAGE = data_uri(image_bytes("PNG", (24, 16)))


@pytest.fixture
def no_worker(monkeypatch):
    """The queue accepts the task but no worker takes it: the request stays queued."""
    queued: list[str] = []
    monkeypatch.setattr(services.process_upscale, "apply_async", lambda args, **options: queued.append(args[0]))
    return queued


def test_async_body_flag_answers_202_and_stays_queued(v1, customer, no_worker) -> None:
    response = v1.post({"image": IMAGE, "async": True}, customer.key)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["success"] is True and body["status"] == "queued"
    assert body["request_id"].startswith("req_ups_") and no_worker == [body["request_id"]]
    assert body["status_url"] == f"http://testserver/v1/upscale/{body['request_id']}"
    assert response["Location"] == body["status_url"]
    assert "image_url" not in body
    # Charged when accepted, like a synchronous request; refunded if it fails later.
    assert customer.refresh().credits == 900

    status = v1.get(path_of(body["status_url"]), customer.key)
    assert status.status_code == 200
    assert status.json()["status"] == "queued" and status.json()["request_id"] == body["request_id"]


def test_prefer_header_selects_async(v1, customer, no_worker) -> None:
    response = v1.post({"image": IMAGE}, customer.key, Prefer="wait=10, respond-async")
    assert response.status_code == 202
    assert response["Preference-Applied"] == "respond-async"


def test_async_false_overrides_nothing_and_stays_sync(v1, customer) -> None:
    response = v1.post({"image": IMAGE, "async": False}, customer.key)
    assert response.status_code == 200 and "image_url" in response.json()


def test_async_must_be_boolean(v1, customer) -> None:
    response = v1.post({"image": IMAGE, "async": "yes"}, customer.key)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"
    assert customer.refresh().credits == 1000


def test_finished_async_request_has_the_sync_fields(v1, client, customer) -> None:
    accepted = v1.post({"image": IMAGE, "async": True, "scale": 3}, customer.key).json()
    status = v1.get(f"/v1/upscale/{accepted['request_id']}", customer.key)
    body = status.json()
    assert body["status"] == "succeeded"
    for name in ("success", "image_url", "request_id", "credits_used", "expires_at", "width", "height", "scale",
                 "model"):
        assert name in body
    assert (body["width"], body["height"], body["credits_used"]) == (72, 48, 100)
    download = client.get(path_of(body["image_url"]))
    result = Image.open(io.BytesIO(b"".join(download.streaming_content)))
    assert result.size == (72, 48)


def test_status_of_a_synchronous_request(v1, customer) -> None:
    """A client that lost its connection can still fetch the result it paid for."""
    sync = v1.post({"image": IMAGE}, customer.key).json()
    status = v1.get(f"/v1/upscale/{sync['request_id']}", customer.key).json()
    assert status["status"] == "succeeded"
    assert {k: status[k] for k in sync} == sync  # every synchronous field, the same values


def test_failed_request_status_shows_the_error(v1, customer, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise engine.EngineError("internal detail that stays internal")

    monkeypatch.setattr(engine, "upscale_bytes", broken)
    accepted = v1.post({"image": IMAGE, "async": True}, customer.key).json()
    body = v1.get(f"/v1/upscale/{accepted['request_id']}", customer.key).json()
    assert body["status"] == "failed" and body["success"] is False
    assert body["error"]["code"] == "processing_failed"
    assert "internal detail" not in body["error"]["message"]
    assert customer.refresh().credits == 1000 == ledger.ledger_balance(customer.account.pk)


def test_async_request_the_queue_refuses_is_503_refunded_and_its_key_free(v1, customer, monkeypatch) -> None:
    """With the broker down the job is failed and refunded before the answer is sent: the client
    gets that failure as a synchronous request does (503), not a 202 "accepted" for a job that
    already failed. Its Idempotency-Key is then free, so the documented retry does the work."""

    def down(*args, **kwargs):
        raise ConnectionRefusedError("broker unreachable")

    monkeypatch.setattr(services.process_upscale, "apply_async", down)
    refused = v1.post({"image": IMAGE, "async": True}, customer.key, **{"Idempotency-Key": "retry-me"})
    assert refused.status_code == 503, refused.content
    body = refused.json()
    assert (body["success"], body["error"]["code"]) == (False, "service_unavailable")
    assert "refunded" in body["error"]["message"]
    assert customer.refresh().credits == 1000 == ledger.ledger_balance(customer.account.pk)

    monkeypatch.undo()  # the broker is back
    retried = v1.post({"image": IMAGE, "async": True}, customer.key, **{"Idempotency-Key": "retry-me"})
    assert retried.status_code == 202, retried.content
    assert "Idempotent-Replayed" not in retried
    assert retried.json()["request_id"] != body["request_id"]
    assert v1.get(f"/v1/upscale/{retried.json()['request_id']}", customer.key).json()["status"] == "succeeded"
    assert customer.refresh().credits == 900 == ledger.ledger_balance(customer.account.pk)


def test_only_the_owner_sees_a_request(v1, make_customer) -> None:
    owner, other = make_customer(), make_customer()
    request_id = v1.post({"image": IMAGE}, owner.key).json()["request_id"]
    for key in (other.key,):
        response = v1.get(f"/v1/upscale/{request_id}", key)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
        assert v1.delete(f"/v1/upscale/{request_id}", key).status_code == 404
    assert v1.get(f"/v1/upscale/{request_id}", None).status_code == 401
    unknown = v1.get("/v1/upscale/req_ups_doesnotexist0000000", owner.key)
    assert unknown.status_code == 404 and unknown.json()["success"] is False
    assert UpscaleRequest.objects.get(request_id=request_id).purged_at is None


def test_an_account_cannot_fill_the_queue_beyond_its_plan(v1, make_customer, no_worker) -> None:
    """Async requests give their in-flight slot back at the 202; Plan.max_queued bounds how many
    jobs one account can have waiting for a worker ahead of everyone else."""
    customer = make_customer(credits=10_000)  # seeds the plans when a flush removed them
    assert {plan.slug: plan.max_queued for plan in Plan.objects.all()} == QUEUED_LIMITS
    Plan.objects.filter(pk=customer.account.plan_id).update(max_queued=2)
    accepted = [v1.post({"image": IMAGE, "async": True}, customer.key) for _ in range(2)]
    assert [r.status_code for r in accepted] == [202, 202]

    refused = v1.post({"image": IMAGE, "async": True}, customer.key)
    assert refused.status_code == 429, refused.content
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert "2 upscale jobs queued or processing" in refused.json()["error"]["message"]
    assert int(refused["Retry-After"]) > 0
    assert customer.refresh().credits == 10_000 - 2 * 100  # the refused one was not charged
    assert UpscaleRequest.objects.filter(account=customer.account).count() == 2
    # A synchronous request is held to the same bound; another account is not affected.
    assert v1.post({"image": IMAGE}, customer.key).status_code == 429
    other = make_customer()
    assert v1.post({"image": IMAGE, "async": True}, other.key).status_code == 202

    # Once a job finishes, the account may queue again.
    UpscaleRequest.objects.filter(request_id=accepted[0].json()["request_id"]).update(
        status=UpscaleRequest.Status.SUCCEEDED
    )
    assert v1.post({"image": IMAGE, "async": True}, customer.key).status_code == 202
