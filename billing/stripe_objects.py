"""Reading Stripe objects from webhook payloads (plain JSON dicts).

Stripe moved some fields between API versions (an invoice's subscription, a line's price,
a subscription's period end); these helpers read both places so that an account pinned to
an older API version still gets its credits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from accounts.models import Account, Plan

from .models import StripeCustomer

Obj = dict[str, Any]


def when(timestamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, tz=UTC) if timestamp else None


def get_id(value: str | Obj | None) -> str:
    """An expandable field: an id, or the object itself."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return value or ""


def account_for_customer(customer: str | Obj | None) -> Account | None:
    row = StripeCustomer.objects.select_related("account__plan").filter(customer_id=get_id(customer)).first()
    return row.account if row else None


def plan_for_price(price: str | Obj | None) -> Plan | None:
    price_id = get_id(price)
    if price_id and (plan := Plan.objects.filter(stripe_price_id=price_id).first()):
        return plan
    # A price created by an earlier stripe_sync (since replaced) still carries our lookup key.
    lookup_key = price.get("lookup_key") if isinstance(price, dict) else None
    return plan_for_item_key(lookup_key or "")


def plan_for_item_key(key: str) -> Plan | None:
    prefix = "artnex_plan_"
    return Plan.objects.filter(slug=key.removeprefix(prefix)).first() if key.startswith(prefix) else None


def subscription_price(subscription: Obj) -> Obj | str | None:
    items = (subscription.get("items") or {}).get("data") or []
    return items[0].get("price") if items else None


def subscription_period_end(subscription: Obj) -> datetime | None:
    items = (subscription.get("items") or {}).get("data") or []
    # Newer API versions keep the period on the item, older ones on the subscription.
    end = items[0].get("current_period_end") if items else None
    return when(end or subscription.get("current_period_end"))


def invoice_subscription(invoice: Obj) -> tuple[str, Obj]:
    """The invoice's subscription id and that subscription's metadata."""
    details = ((invoice.get("parent") or {}).get("subscription_details")) or invoice.get("subscription_details") or {}
    return get_id(details.get("subscription") or invoice.get("subscription")), details.get("metadata") or {}


def invoice_plan_and_period(invoice: Obj) -> tuple[Plan | None, datetime | None]:
    plan, period_end = None, None
    for line in (invoice.get("lines") or {}).get("data") or []:
        price = line.get("price") or ((line.get("pricing") or {}).get("price_details") or {}).get("price")
        plan = plan or plan_for_price(price)
        period_end = max(filter(None, [period_end, when((line.get("period") or {}).get("end"))]), default=None)
    if plan is None:
        plan = plan_for_item_key(invoice_subscription(invoice)[1].get("artnex_item", ""))
    return plan, period_end


def invoice_payment_ids(invoice: Obj) -> tuple[str, str]:
    """(payment intent, charge) that paid the invoice, where the payload names them."""
    intent = get_id(invoice.get("payment_intent"))
    for payment in (invoice.get("payments") or {}).get("data") or []:
        intent = intent or get_id((payment.get("payment") or {}).get("payment_intent"))
    return intent, get_id(invoice.get("charge"))
