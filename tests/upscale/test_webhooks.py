"""Outgoing webhooks: the final result, signed, retried with back-off, every attempt recorded."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.images import data_uri, image_bytes
from upscale import engine
from upscale.webhooks import signing
from upscale.webhooks.models import WebhookAttempt, WebhookDelivery
from upscale.webhooks.secret_store import rotate, secret_for
from upscale.webhooks.tasks import retry_due_webhooks

pytestmark = pytest.mark.django_db(transaction=True)
IMAGE = data_uri(image_bytes())


def test_result_is_posted_signed(v1, customer, receiver) -> None:
    response = v1.post({"image": IMAGE, "async": True, "webhook_url": receiver.url}, customer.key)
    assert response.status_code == 202, response.content
    request_id = response.json()["request_id"]

    [hook] = receiver.received
    secret = secret_for(customer.account).secret
    assert signing.verify(hook.headers["artnex-signature"], hook.body, secret)
    assert not signing.verify(hook.headers["artnex-signature"], hook.body + b" ", secret)
    assert hook.headers["content-type"] == "application/json"
    assert hook.headers["artnex-request-id"] == request_id
    payload = json.loads(hook.body)
    # The same JSON the status endpoint gives for the finished request.
    assert payload == v1.get(f"/v1/upscale/{request_id}", customer.key).json()
    assert payload["status"] == "succeeded" and payload["image_url"]

    delivery = WebhookDelivery.objects.get(request__request_id=request_id)
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    [attempt] = WebhookAttempt.objects.filter(delivery=delivery)
    assert attempt.response_status == 200 and attempt.error == ""


def test_failed_request_is_posted_too(v1, customer, receiver, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise engine.EngineError("boom")

    monkeypatch.setattr(engine, "upscale_bytes", broken)
    response = v1.post({"image": IMAGE, "webhook_url": receiver.url}, customer.key)
    assert response.status_code == 500
    [hook] = receiver.received
    payload = json.loads(hook.body)
    assert payload["success"] is False and payload["status"] == "failed"
    assert payload["error"]["code"] == "processing_failed"


def test_retries_with_exponential_back_off_then_gives_up(v1, customer, receiver, settings) -> None:
    settings.ARTNEX_WEBHOOK_MAX_ATTEMPTS = 4
    receiver.statuses = [500, 503, 404, 500]
    request_id = v1.post({"image": IMAGE, "webhook_url": receiver.url}, customer.key).json()["request_id"]
    delivery = WebhookDelivery.objects.get(request__request_id=request_id)
    now = timezone.now()
    for expected_wait in (30, 120, 480):
        delivery.refresh_from_db()
        assert delivery.status == "pending"
        wait = (delivery.next_attempt_at - now).total_seconds()
        assert expected_wait - 5 < wait <= expected_wait + 5
        # Not due yet: the sweeper leaves it alone.
        assert retry_due_webhooks() == 0
        now = delivery.next_attempt_at + timedelta(seconds=1)
        with time_machine.travel(now, tick=False):
            assert retry_due_webhooks() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 4, None)
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [a.response_status for a in attempts] == [500, 503, 404, 500]
    assert all(a.error.startswith("answered HTTP") for a in attempts)
    assert len(receiver.received) == 4
    # Every attempt carries the same body, freshly signed.
    assert len({r.body for r in receiver.received}) == 1


def test_a_later_attempt_succeeds(v1, customer, receiver) -> None:
    receiver.statuses = [502]
    request_id = v1.post({"image": IMAGE, "webhook_url": receiver.url}, customer.key).json()["request_id"]
    delivery = WebhookDelivery.objects.get(request__request_id=request_id)
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        retry_due_webhooks()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_unreachable_receiver_is_recorded(v1, customer, settings, unused_port) -> None:
    settings.ARTNEX_ALLOW_PRIVATE_URLS = True
    url = f"http://127.0.0.1:{unused_port}/hook"
    request_id = v1.post({"image": IMAGE, "webhook_url": url}, customer.key).json()["request_id"]
    [attempt] = WebhookAttempt.objects.filter(delivery__request__request_id=request_id)
    assert attempt.response_status is None and "could not be reached" in attempt.error


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "url",
    ["http://example.com/hook", "https://127.0.0.1/hook", "https://10.1.2.3/x", "https://user:pw@example.com/",
     "ftp://example.com/", "not a url", 42, "https://[::1]/hook"],
)
def test_webhook_url_is_ssrf_checked_before_any_charge(v1, customer, url) -> None:
    response = v1.post({"image": IMAGE, "webhook_url": url}, customer.key)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_webhook_url"
    assert customer.refresh().credits == 1000


def test_addresses_are_checked_again_at_delivery(v1, customer, receiver, settings) -> None:
    """A URL accepted in development mode is still refused at send time once the policy says so
    (the same check catches a host whose DNS moved to a private address after submission)."""
    request_id = v1.post({"image": IMAGE, "async": True, "webhook_url": receiver.url}, customer.key)
    assert request_id.status_code == 202
    settings.ARTNEX_ALLOW_PRIVATE_URLS = False
    receiver.received.clear()
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="pending", next_attempt_at=timezone.now())
    retry_due_webhooks()
    assert receiver.received == []
    assert "webhook URL" in WebhookAttempt.objects.filter(delivery=delivery).latest("number").error


def test_signature_checks() -> None:
    body = b'{"status":"succeeded"}'
    now = int(time.time())
    header = signing.header_value(["whsec_a", "whsec_b"], now, body)
    assert signing.verify(header, body, "whsec_a") and signing.verify(header, body, "whsec_b")
    assert not signing.verify(header, body, "whsec_c")
    old = signing.header_value(["whsec_a"], now - 600, body)
    assert not signing.verify(old, body, "whsec_a")  # a replayed old delivery
    assert signing.verify(old, body, "whsec_a", tolerance=900)
    for bad in ("", "v1=abc", "t=x,v1=abc", f"t={now}", f"t={now},t={now},v1=00"):
        assert not signing.verify(bad, body, "whsec_a")


def test_rotation_signs_with_both_secrets_for_a_day(v1, customer, receiver) -> None:
    old = secret_for(customer.account).secret
    new = rotate(customer.account).secret
    assert new != old and new.startswith("whsec_")
    v1.post({"image": IMAGE, "webhook_url": receiver.url}, customer.key)
    header = receiver.received[-1].headers["artnex-signature"]
    body = receiver.received[-1].body
    assert signing.verify(header, body, new) and signing.verify(header, body, old)
    assert header.count("v1=") == 2
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        v1.post({"image": IMAGE, "webhook_url": receiver.url}, customer.key)
        assert receiver.received[-1].headers["artnex-signature"].count("v1=") == 1
