"""Shared fixtures: customers with keys, an API client, images."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts import keys
from accounts.models import Account, Plan
from accounts.plans import seed_plans
from billing import ledger


@dataclass
class Customer:
    account: Account
    key: str

    def refresh(self) -> Account:
        self.account.refresh_from_db()
        return self.account


@pytest.fixture
def make_customer(db: None) -> Callable[..., Customer]:
    counter = iter(range(1, 10_000))

    def make(credits: int = 1000, plan: str = "free", daily_quota: int | None = None) -> Customer:
        # Transactional tests flush every table, the migration-seeded plans included.
        seed_plans(Plan)
        n = next(counter)
        user = get_user_model().objects.create_user(username=f"customer{n}@example.com",
                                                    email=f"customer{n}@example.com")
        account = Account.objects.create(user=user, plan=Plan.objects.get(slug=plan),
                                         daily_quota_override=daily_quota)
        if credits:
            ledger.grant(account.pk, credits, reason="test")
        _, plain = keys.create_key(account)
        account.refresh_from_db()
        return Customer(account, plain)

    return make


@pytest.fixture
def customer(make_customer: Callable[..., Customer]) -> Customer:
    return make_customer()


class ApiClient:
    def __init__(self, client: Client) -> None:
        self.client = client

    def upscale(self, body: Any, key: str | None = None, content_type: str = "application/json",
                raw: str | bytes | None = None, **headers: str) -> Any:
        import json

        if key is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        data = raw if raw is not None else json.dumps(body)
        return self.client.post("/v1/upscale", data=data, content_type=content_type, **headers)


@pytest.fixture
def api(client: Client) -> ApiClient:
    return ApiClient(client)
