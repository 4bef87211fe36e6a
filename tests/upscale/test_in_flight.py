"""One key cannot hold the service: a per-account limit on requests in flight (a plan setting),
and failed image downloads weigh on the burst limit."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts.models import Plan
from accounts.plans import IN_FLIGHT_LIMITS
from billing import ledger
from tests.images import data_uri, image_bytes
from upscale import in_flight
from upscale.models import UpscaleRequest

pytestmark = pytest.mark.django_db
BODY = {"image": data_uri(image_bytes())}


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def test_plans_carry_an_in_flight_limit(make_customer) -> None:
    make_customer()
    assert {plan.slug: plan.max_in_flight for plan in Plan.objects.all()} == IN_FLIGHT_LIMITS
    assert IN_FLIGHT_LIMITS["free"] < IN_FLIGHT_LIMITS["pro"] < IN_FLIGHT_LIMITS["business"]


def test_beyond_the_plans_limit_is_429_with_retry_after(api, make_customer, settings) -> None:
    settings.ARTNEX_WAIT_SECONDS = 0.2  # accepted requests time out at once in this transaction
    customer = make_customer()
    Plan.objects.filter(pk=customer.account.plan_id).update(max_in_flight=2)
    held = [in_flight.acquire(customer.account.pk, 2) for _ in range(2)]  # two requests still open

    refused = api.upscale(BODY, key=customer.key)

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert "2 upscale requests in progress" in refused.json()["error"]["message"]
    assert int(refused["Retry-After"]) > 0
    assert customer.refresh().credits == 1000
    # Another customer is not affected, and a finished request frees its slot.
    other = make_customer()
    assert api.upscale(BODY, key=other.key).status_code != 429
    held[0].release()
    assert api.upscale(BODY, key=customer.key).json()["error"]["code"] == "upscale_timeout"


def test_a_request_gives_its_slot_back_however_it_ends(api, make_customer, settings) -> None:
    settings.ARTNEX_WAIT_SECONDS = 0.2
    customer = make_customer()
    Plan.objects.filter(pk=customer.account.plan_id).update(max_in_flight=1)
    codes = [api.upscale(body, key=customer.key).json()["error"]["code"]
             for body in ({"image": "data:image/png;base64,!!"}, BODY, {"scale": 9, "image": "x"}, BODY)]
    assert codes == ["invalid_image_format", "upscale_timeout", "invalid_scale", "upscale_timeout"]


def test_failed_downloads_count_against_the_burst_limit(api, customer, settings) -> None:
    settings.ARTNEX_ALLOW_PRIVATE_URLS = True
    settings.ARTNEX_BURST_RATE = "12/m"
    settings.ARTNEX_FAILED_FETCH_BURST_WEIGHT = 10
    refused_url = {"image": "http://127.0.0.1:9/nothing.png"}  # the discard port: connection refused

    first = api.upscale(refused_url, key=customer.key)
    assert (first.status_code, first.json()["error"]["code"]) == (400, "invalid_image_format")
    # 1 + 10 units used: one more request fits in the 12, the next one does not.
    assert api.upscale({}, key=customer.key).status_code == 400
    third = api.upscale({}, key=customer.key)
    assert (third.status_code, third.json()["error"]["code"]) == (429, "rate_limit_exceeded")


def test_other_errors_count_once(api, customer, settings) -> None:
    settings.ARTNEX_BURST_RATE = "3/m"
    codes = [api.upscale({"image": "data:image/png;base64,!!"}, key=customer.key).status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]


class CacheDownAfterAcquire:
    """The shared cache as a request sees it when Redis goes down while the request runs: the
    slot was taken, giving it back fails."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def add(self, *args: Any, **kwargs: Any) -> bool:
        return bool(self.real.add(*args, **kwargs))

    def get(self, *args: Any, **kwargs: Any) -> Any:
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6380. Connection refused.")

    delete = get


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_cache_outage_after_the_work_does_not_take_the_answer_away(api, customer, monkeypatch,
                                                                    asynchronous) -> None:
    """Found by bench/load.py's cache restart: the result was delivered and charged (or the async
    job accepted and charged), then giving the slot back raised, and the client got 503 "No
    credits were charged" with its Idempotency-Key freed, so its retry paid a second time. The
    slot expires on its own (in_flight._lifetime); the answer must stand."""
    monkeypatch.setattr(in_flight, "cache", CacheDownAfterAcquire(cache))

    response = api.upscale({**BODY, "async": asynchronous}, key=customer.key, HTTP_IDEMPOTENCY_KEY="once")

    assert response.status_code == (202 if asynchronous else 200), response.content
    row = UpscaleRequest.objects.get(request_id=response.json()["request_id"])
    assert (row.status, row.credits_charged) == ("succeeded", 100)
    assert customer.refresh().credits == 900 == ledger.ledger_balance(customer.account.pk)
    replay = api.upscale({**BODY, "async": asynchronous}, key=customer.key, HTTP_IDEMPOTENCY_KEY="once")
    assert replay["Idempotent-Replayed"] == "true" and customer.refresh().credits == 900
