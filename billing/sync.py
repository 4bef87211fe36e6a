"""Make Stripe's catalogue match the database: one Product per plan or pack (our own ids),
and one active Price named by a lookup key. Running it twice changes nothing; a changed price
gets a new Stripe Price (Stripe prices are immutable) that takes over the lookup key, and the
old one is archived, so existing subscribers keep theirs until they change plan.
"""

from __future__ import annotations

from django.conf import settings

from accounts.models import Plan

from . import stripe_api
from .models import CreditPack

Sellable = Plan | CreditPack


def _amount(item: Sellable) -> int:
    return item.monthly_price_cents if isinstance(item, Plan) else item.price_cents


def _product_id(item: Sellable) -> str:
    return f"artnex_{'plan' if isinstance(item, Plan) else 'pack'}_{item.slug}"


def _ensure_product(item: Sellable) -> tuple[str, str]:
    product_id, metadata = _product_id(item), {"artnex_item": item.lookup_key}
    product = stripe_api.retrieve_product(product_id)
    if product is None:
        stripe_api.create_product({"id": product_id, "name": item.name, "metadata": metadata})
        return product_id, "product created"
    if product.name != item.name or not product.active:
        stripe_api.update_product(product_id, {"name": item.name, "active": True, "metadata": metadata})
        return product_id, "product updated"
    return product_id, "product unchanged"


def _ensure_price(item: Sellable, product_id: str) -> tuple[str, str]:
    amount, currency = _amount(item), settings.ARTNEX_CURRENCY
    interval = "month" if isinstance(item, Plan) else None
    current = stripe_api.price_by_lookup_key(item.lookup_key)
    if current is not None and current.active and (current.unit_amount, current.currency, current.product) == (
            amount, currency, product_id) and (current.recurring.interval if current.recurring else None) == interval:
        return current.id, "price unchanged"
    params: dict[str, object] = {
        "product": product_id, "unit_amount": amount, "currency": currency, "lookup_key": item.lookup_key,
        "transfer_lookup_key": True, "metadata": {"artnex_item": item.lookup_key},
    }
    if interval:
        params["recurring"] = {"interval": interval}
    created = stripe_api.create_price(params)
    if current is not None and current.active:
        stripe_api.archive_price(current.id)
    return created.id, "price created" if current is None else f"price replaced ({current.id} archived)"


def sync_item(item: Sellable) -> str:
    product_id, product_outcome = _ensure_product(item)
    price_id, price_outcome = _ensure_price(item, product_id)
    type(item).objects.filter(pk=item.pk).update(stripe_product_id=product_id, stripe_price_id=price_id)
    return f"{item.lookup_key}: {product_outcome}, {price_outcome} ({price_id})"


def sellable() -> list[Sellable]:
    """Paid plans and active packs; free plans are not sold."""
    plans: list[Sellable] = list(Plan.objects.filter(monthly_price_cents__gt=0))
    return plans + list(CreditPack.objects.filter(active=True, price_cents__gt=0))


def sync_all() -> list[str]:
    return [sync_item(item) for item in sellable()]
