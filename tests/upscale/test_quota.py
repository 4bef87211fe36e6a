"""The daily quota (429 with Retry-After to the next UTC midnight) and the burst limit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from tests.images import data_uri, image_bytes

pytestmark = pytest.mark.django_db(transaction=True)
BODY = {"image": data_uri(image_bytes())}


def test_quota_boundary_at_utc_midnight(api, make_customer) -> None:
    customer = make_customer(daily_quota=2)
    with time_machine.travel(datetime(2026, 3, 1, 23, 59, 0, tzinfo=UTC), tick=False):
        assert api.upscale(BODY, key=customer.key).status_code == 200
        assert api.upscale(BODY, key=customer.key).status_code == 200
        refused = api.upscale(BODY, key=customer.key)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert refused["Retry-After"] == "60"
        assert refused["X-RateLimit-Remaining"] == "0"
    with time_machine.travel(datetime(2026, 3, 1, 23, 59, 59, 500_000, tzinfo=UTC), tick=False):
        assert api.upscale(BODY, key=customer.key).status_code == 429
    with time_machine.travel(datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC), tick=False):
        response = api.upscale(BODY, key=customer.key)
        assert response.status_code == 200
        assert response["X-RateLimit-Remaining"] == "1"
    assert customer.refresh().credits == 1000 - 3 * 100  # the refused one was not charged


def test_failed_requests_do_not_use_the_quota(api, make_customer, monkeypatch) -> None:
    from upscale import engine

    customer = make_customer(daily_quota=1)
    monkeypatch.setattr(engine, "upscale_bytes", lambda *a, **k: (_ for _ in ()).throw(engine.EngineError("x")))
    assert api.upscale(BODY, key=customer.key).status_code == 500
    monkeypatch.undo()
    assert api.upscale(BODY, key=customer.key).status_code == 200
    assert api.upscale(BODY, key=customer.key).status_code == 429


def test_plan_quota_and_override(make_customer) -> None:
    assert make_customer(plan="pro").account.daily_quota == 2000
    assert make_customer(plan="pro", daily_quota=7).account.daily_quota == 7


def test_burst_limit_per_key(api, make_customer, settings) -> None:
    from django.core.cache import cache

    cache.clear()
    settings.ARTNEX_BURST_RATE = "2/m"
    first, second = make_customer(), make_customer()
    codes = [api.upscale(BODY, key=first.key).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert api.upscale(BODY, key=second.key).status_code == 200  # per key, not global
    assert first.refresh().credits == 800
