"""Billing fixtures: Stripe keys pointing at a local fake API, signed webhook deliveries, and
Stripe objects in the shape API version 2026-10-28 sends them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import pytest
from django.test import Client

from accounts.models import Account, Plan
from billing.models import Checkout, CreditPack, StripeCustomer

from .fake_stripe import FakeStripe, serve

WEBHOOK_SECRET = "whsec_test_artnex"
WEBHOOK_URL = "/billing/stripe/webhook/"
_ids = count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_T{next(_ids):06d}"


@pytest.fixture(scope="session")
def fake_stripe_server() -> Iterator[FakeStripe]:
    fake, server = serve()
    yield fake
    server.shutdown()


@pytest.fixture
def fake_stripe(fake_stripe_server: FakeStripe, settings: Any, monkeypatch: pytest.MonkeyPatch) -> FakeStripe:
    """Payments configured, and the stripe library's base address on the local fake."""
    fake_stripe_server.reset()
    settings.STRIPE_SECRET_KEY = "sk_test_artnex"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_artnex"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake_stripe_server.url
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # never through a proxy from the environment
    return fake_stripe_server


@pytest.fixture
def no_stripe(settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = settings.STRIPE_PUBLISHABLE_KEY = settings.STRIPE_WEBHOOK_SECRET = ""
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # the discard port: a stray call fails loudly


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Stripe's signing scheme: v1 = HMAC-SHA256(secret, "{t}.{payload}")."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event(event_type: str, obj: dict[str, Any], *, created: int | None = None, event_id: str | None = None
          ) -> dict[str, Any]:
    return {
        "id": event_id or new_id("evt"), "object": "event", "api_version": "2026-10-28.endive",
        "created": created or int(time.time()), "data": {"object": obj}, "livemode": False,
        "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None}, "type": event_type,
    }


class Webhooks:
    def __init__(self, client: Client) -> None:
        self.client = client

    def deliver(self, evt: dict[str, Any], *, signature: str | None = None) -> Any:
        payload = json.dumps(evt).encode()
        return self.client.post(WEBHOOK_URL, data=payload, content_type="application/json",
                                HTTP_STRIPE_SIGNATURE=signature if signature is not None else sign(payload))


@pytest.fixture
def webhooks(fake_stripe: FakeStripe) -> Webhooks:
    return Webhooks(Client())


@pytest.fixture
def pro(db: None) -> Plan:
    plan = Plan.objects.get(slug="pro")
    plan.stripe_price_id, plan.monthly_credits = "price_pro_monthly", 30_000
    plan.save()
    return plan


@pytest.fixture
def pack_factory(db: None) -> Callable[[], CreditPack]:
    def make() -> CreditPack:
        pack, _ = CreditPack.objects.get_or_create(slug="five-k", defaults={
            "name": "5,000 credits", "credits": 5_000, "price_cents": 2_000, "stripe_price_id": "price_five_k"})
        return pack

    return make


@pytest.fixture
def pack(pack_factory: Callable[[], CreditPack]) -> CreditPack:
    return pack_factory()


@pytest.fixture
def stripe_customer(customer: Any) -> StripeCustomer:
    return StripeCustomer.objects.create(account=customer.account, customer_id=new_id("cus"))


def checkout_row(account: Account, *, pack: CreditPack | None = None, plan: Plan | None = None) -> Checkout:
    amount = pack.price_cents if pack else plan.monthly_price_cents if plan else 0
    return Checkout.objects.create(session_id=new_id("cs"), account=account, pack=pack, plan=plan,
                                   credits=pack.credits if pack else 0, amount_cents=amount)


def session_object(row: Checkout, customer_id: str, *, paid: bool = True, **extra: Any) -> dict[str, Any]:
    mode = "payment" if row.pack_id else "subscription"
    return {
        "id": row.session_id, "object": "checkout.session", "mode": mode, "status": "complete",
        "payment_status": "paid" if paid else "unpaid", "amount_total": row.amount_cents, "currency": "usd",
        "customer": customer_id, "client_reference_id": str(row.account_id),
        "metadata": {"artnex_account_id": str(row.account_id)},
        "payment_intent": new_id("pi") if mode == "payment" else None,
        "subscription": new_id("sub") if mode == "subscription" else None, "livemode": False, **extra,
    }


def subscription_object(sub_id: str, customer_id: str, plan: Plan, status: str = "active",
                        period_end: int | None = None) -> dict[str, Any]:
    end = period_end or int(time.time()) + 30 * 86400
    price = {"id": plan.stripe_price_id, "object": "price", "lookup_key": plan.lookup_key,
             "unit_amount": plan.monthly_price_cents, "currency": "usd", "recurring": {"interval": "month"}}
    return {
        "id": sub_id, "object": "subscription", "customer": customer_id, "status": status,
        "cancel_at_period_end": False, "metadata": {"artnex_item": plan.lookup_key}, "livemode": False,
        "items": {"object": "list", "has_more": False, "data": [{
            "id": new_id("si"), "object": "subscription_item", "price": price, "quantity": 1,
            "current_period_start": end - 30 * 86400, "current_period_end": end}]},
    }


def invoice_object(sub_id: str, customer_id: str, plan: Plan, *, amount_paid: int | None = None,
                   period_end: int | None = None, invoice_id: str | None = None) -> dict[str, Any]:
    end = period_end or int(time.time()) + 30 * 86400
    paid = plan.monthly_price_cents if amount_paid is None else amount_paid
    return {
        "id": invoice_id or new_id("in"), "object": "invoice", "customer": customer_id, "status": "paid",
        "amount_paid": paid, "amount_due": paid, "currency": "usd", "billing_reason": "subscription_cycle",
        "livemode": False,
        "parent": {"type": "subscription_details", "quote_details": None, "subscription_details": {
            "metadata": {"artnex_item": plan.lookup_key}, "subscription": sub_id}},
        "lines": {"object": "list", "has_more": False, "data": [{
            "id": new_id("il"), "object": "line_item", "amount": paid, "currency": "usd",
            "period": {"start": end - 30 * 86400, "end": end},
            "pricing": {"type": "price_details", "price_details": {"price": plan.stripe_price_id,
                                                                   "product": f"artnex_plan_{plan.slug}"}}}]},
        "payments": {"object": "list", "has_more": False, "data": [{
            "id": new_id("inpay"), "object": "invoice_payment", "status": "paid",
            "payment": {"type": "payment_intent", "payment_intent": new_id("pi")}}]},
    }


def charge_object(payment_intent: str, amount: int, refunded: int, charge_id: str = "ch_T_refunded"
                  ) -> dict[str, Any]:
    return {"id": charge_id, "object": "charge", "amount": amount, "amount_captured": amount,
            "amount_refunded": refunded, "refunded": refunded >= amount, "currency": "usd", "paid": True,
            "payment_intent": payment_intent, "status": "succeeded", "livemode": False}


@pytest.fixture
def signed_in(client: Client, customer: Any) -> Client:
    client.force_login(customer.account.user)
    return client

