"""Starting a payment: the account's Stripe Customer and a Checkout Session for a pack or a plan.

No credit moves here. Credits arrive only with Stripe's signed confirmation (webhooks.py),
never from a customer reaching the success page.
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import Account, Plan

from . import stripe_api
from .models import Checkout, CreditPack, StripeCustomer


class NotForSale(Exception):
    """The pack or plan has no Stripe price yet (run `manage.py stripe_sync`) or is free."""


def customer_id(account: Account) -> str:
    """The account's Stripe Customer, created on first use."""
    existing = StripeCustomer.objects.filter(account=account).values_list("customer_id", flat=True).first()
    if existing:
        return existing
    # The idempotency key makes concurrent first purchases get the same Stripe customer;
    # get_or_create then keeps one row.
    created = stripe_api.create_customer(email=account.user.email, account_id=account.pk)
    with transaction.atomic():
        row, _ = StripeCustomer.objects.get_or_create(account=account, defaults={"customer_id": created})
    return row.customer_id


def start(account: Account, *, pack: CreditPack | None = None, plan: Plan | None = None,
          success_url: str, cancel_url: str) -> str:
    """Create a Checkout Session for one pack or one plan; answers the URL to redirect to."""
    item = pack or plan
    if item is None or (pack is None) == (plan is None):
        raise ValueError("a checkout sells one pack or one plan")
    if not item.stripe_price_id:
        raise NotForSale(f"{item.name} has no Stripe price yet")
    metadata = {"artnex_account_id": str(account.pk), "artnex_item": item.lookup_key}
    params: dict[str, object] = {
        "customer": customer_id(account),
        "client_reference_id": str(account.pk),
        "line_items": [{"price": item.stripe_price_id, "quantity": 1}],
        # Stripe replaces the placeholder: the success page finds its own Checkout row.
        "success_url": f"{success_url}?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": cancel_url,
        "metadata": metadata,
    }
    if pack is not None:
        params["mode"] = "payment"
        params["payment_intent_data"] = {"metadata": metadata}
        amount, credits = pack.price_cents, pack.credits
    else:
        assert plan is not None
        params["mode"] = "subscription"
        params["subscription_data"] = {"metadata": metadata}
        amount, credits = plan.monthly_price_cents, 0
    session_id, url = stripe_api.create_checkout_session(params)
    Checkout.objects.create(session_id=session_id, account=account, pack=pack, plan=plan, credits=credits,
                            amount_cents=amount)
    return url
