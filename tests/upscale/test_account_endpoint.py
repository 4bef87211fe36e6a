"""GET /v1/account: balance, plan, today's quota use."""

from __future__ import annotations

import pytest

from tests.images import data_uri, image_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def test_account_shows_balance_plan_and_quota(v1, make_customer) -> None:
    customer = make_customer(credits=1000, daily_quota=7)
    before = v1.get("/v1/account", customer.key)
    assert before.status_code == 200, before.content
    body = before.json()
    assert body["credits"] == 1000 and body["plan"]["slug"] == "free"
    assert body["quota"] == {**body["quota"], "limit": 7, "used": 0, "remaining": 7}
    assert body["quota"]["resets_at"].endswith("T00:00:00Z")

    assert v1.post({"image": data_uri(image_bytes())}, customer.key).status_code == 200
    after = v1.get("/v1/account", customer.key).json()
    assert (after["credits"], after["quota"]["used"], after["quota"]["remaining"]) == (900, 1, 6)


def test_account_needs_a_key(v1, db) -> None:
    response = v1.get("/v1/account", None)
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"
    assert v1.get("/v1/account", "ak_wrong").status_code == 401
