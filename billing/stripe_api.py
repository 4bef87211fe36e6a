"""The one module that talks to Stripe's API (webhook signatures are checked in webhooks.py).

Everything goes through a ``stripe.StripeClient`` built from settings, so tests point the
library's own base address at a local server and nothing else changes.
"""

from __future__ import annotations

from typing import Any

import stripe
from django.conf import settings

# The stripe library's error base class, re-exported so callers need not import stripe.
StripeError = stripe.StripeError


class NotConfigured(Exception):
    """STRIPE_SECRET_KEY / STRIPE_WEBHOOK_SECRET are not set: payments are off."""


def configured() -> bool:
    """Selling needs both keys: without the webhook secret no payment would ever be credited."""
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET)


def client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise NotConfigured("STRIPE_SECRET_KEY is not set")
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=2,  # the library retries with the same idempotency key
    )


def create_customer(*, email: str, account_id: int) -> str:
    customer = client().v1.customers.create(
        params={"email": email, "metadata": {"artnex_account_id": str(account_id)}},
        # A double click or a retried request must not create a second customer.
        options={"idempotency_key": f"artnex-customer-{account_id}"},
    )
    return str(customer.id)


def create_checkout_session(params: dict[str, Any]) -> tuple[str, str]:
    """Answers the session's id and the Stripe-hosted page to send the customer to."""
    session = client().v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]
    return str(session.id), str(session.url)


def billing_portal_url(*, customer_id: str, return_url: str) -> str:
    session = client().v1.billing_portal.sessions.create(params={"customer": customer_id, "return_url": return_url})
    return str(session.url)


def retrieve_product(product_id: str) -> stripe.Product | None:
    try:
        return client().v1.products.retrieve(product_id)
    except stripe.InvalidRequestError as exc:
        if exc.code == "resource_missing":
            return None
        raise


def create_product(params: dict[str, Any]) -> stripe.Product:
    return client().v1.products.create(params=params)  # type: ignore[arg-type]


def update_product(product_id: str, params: dict[str, Any]) -> stripe.Product:
    return client().v1.products.update(product_id, params=params)  # type: ignore[arg-type]


def price_by_lookup_key(lookup_key: str) -> stripe.Price | None:
    prices = client().v1.prices.list(params={"lookup_keys": [lookup_key], "limit": 1})
    return prices.data[0] if prices.data else None


def create_price(params: dict[str, Any]) -> stripe.Price:
    return client().v1.prices.create(params=params)  # type: ignore[arg-type]


def archive_price(price_id: str) -> None:
    client().v1.prices.update(price_id, params={"active": False})
