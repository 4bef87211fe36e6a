"""manage.py stripe_sync: Stripe's Products and Prices follow the database, idempotently."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Plan
from billing.models import CreditPack

from .fake_stripe import FakeStripe

pytestmark = pytest.mark.django_db


def sync() -> str:
    out = StringIO()
    call_command("stripe_sync", stdout=out)
    return out.getvalue()


def creations(fake: FakeStripe) -> list[str]:
    return [c.path for c in fake.calls if c.method == "POST" and c.path in {"/v1/products", "/v1/prices"}]


def test_sync_creates_then_changes_nothing(fake_stripe: FakeStripe) -> None:
    output = sync()
    # Paid plans (pro, business) and the three seeded packs; the free plan is not sold.
    assert "5 item(s) in sync" in output and "artnex_plan_free" not in output
    assert creations(fake_stripe).count("/v1/products") == 5 and creations(fake_stripe).count("/v1/prices") == 5
    pro = Plan.objects.get(slug="pro")
    price = fake_stripe.prices[pro.stripe_price_id]
    assert (price["unit_amount"], price["currency"], price["lookup_key"], price["recurring"]["interval"]) == (
        2_900, "usd", "artnex_plan_pro", "month")
    assert pro.stripe_product_id == "artnex_plan_pro" == price["product"]
    pack = CreditPack.objects.get(slug="standard")
    assert fake_stripe.prices[pack.stripe_price_id]["recurring"] is None
    fake_stripe.calls.clear()
    again = sync()
    assert creations(fake_stripe) == [] and again.count("price unchanged") == 5
    assert Plan.objects.get(slug="pro").stripe_price_id == pro.stripe_price_id


def test_changed_price_replaces_the_stripe_price(fake_stripe: FakeStripe) -> None:
    sync()
    pack = CreditPack.objects.get(slug="starter")
    old_price = pack.stripe_price_id
    CreditPack.objects.filter(pk=pack.pk).update(price_cents=600, name="1,000 credits (new price)")
    fake_stripe.calls.clear()
    output = sync()
    assert f"price replaced ({old_price} archived)" in output
    pack.refresh_from_db()
    assert pack.stripe_price_id != old_price and fake_stripe.prices[pack.stripe_price_id]["unit_amount"] == 600
    assert fake_stripe.prices[old_price]["active"] is False and fake_stripe.prices[old_price]["lookup_key"] is None
    assert fake_stripe.products["artnex_pack_starter"]["name"] == "1,000 credits (new price)"


def test_sync_without_a_key_says_what_to_set(no_stripe: None) -> None:
    with pytest.raises(CommandError, match="STRIPE_SECRET_KEY"):
        sync()


def test_sync_reports_a_stripe_refusal(fake_stripe: FakeStripe) -> None:
    fake_stripe.fail_next = 1
    with pytest.raises(CommandError, match="Stripe refused"):
        sync()
