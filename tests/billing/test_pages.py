"""Billing pages: sign-in required, a customer's own data only, Checkout through the (fake)
Stripe API, and no credit from the success redirect alone."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from billing import ledger
from billing.models import Checkout, StripeCustomer, Subscription

from .conftest import Webhooks, checkout_row, event, session_object
from .fake_stripe import FakeStripe

pytestmark = pytest.mark.django_db

PAGES = ["/billing/", "/billing/buy/", "/billing/success/?session_id=cs_x", "/billing/cancel/"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_need_a_login(client: Client, url: str) -> None:
    answer = client.get(url)
    assert answer.status_code == 302 and answer["Location"].startswith(settings.LOGIN_URL)


def test_checkout_needs_a_login(client: Client, pack, fake_stripe: FakeStripe) -> None:
    answer = client.post(f"/billing/buy/pack/{pack.slug}/")
    assert answer.status_code == 302 and answer["Location"].startswith(settings.LOGIN_URL)
    assert fake_stripe.calls == []


def test_login_without_a_customer_account_is_404(client: Client, admin_user) -> None:
    client.force_login(admin_user)
    assert client.get("/billing/").status_code == 404


def test_overview_shows_balance_and_only_own_ledger(signed_in: Client, customer, make_customer) -> None:
    other = make_customer(credits=777)
    ledger.grant(other.account.pk, 55, reason="someone else's gift")
    ledger.grant(customer.account.pk, 42, reason="support gesture")
    page = signed_in.get("/billing/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="balance">1042<' in text and "support gesture" in text
    assert "someone else" not in text and "777" not in text


def test_buy_page_without_stripe_says_so(signed_in: Client, pack, pro, no_stripe) -> None:
    page = signed_in.get("/billing/buy/")
    text = page.content.decode()
    assert "Payments are not configured" in text
    assert pack.name in text and "20.00 USD" in text and pro.name in text and "29.00 USD" in text
    answer = signed_in.post(f"/billing/buy/pack/{pack.slug}/", follow=True)
    assert "Payments are not configured" in answer.content.decode()
    assert not Checkout.objects.exists()


def test_buy_page_lists_packs_and_plans_from_the_database(signed_in: Client, pack, pro, fake_stripe) -> None:
    pack.name = "Renamed pack"
    pack.save()
    text = signed_in.get("/billing/buy/").content.decode()
    assert "Payments are not configured" not in text
    assert "Renamed pack" in text and f"/billing/buy/pack/{pack.slug}/" in text
    assert "/billing/buy/plan/pro/" in text and "30000 credits" in text
    assert "/billing/buy/plan/free/" not in text  # the free plan is not sold


def test_pack_checkout_redirects_to_stripe(signed_in: Client, customer, pack, fake_stripe: FakeStripe) -> None:
    answer = signed_in.post(f"/billing/buy/pack/{pack.slug}/")
    assert answer.status_code == 303 and answer["Location"].startswith("https://checkout.stripe.com/c/pay/cs_")
    (created,) = fake_stripe.posted("/v1/customers")
    assert created.params["email"] == customer.account.user.email
    assert created.params["metadata[artnex_account_id]"] == str(customer.account.pk)
    (session,) = fake_stripe.posted("/v1/checkout/sessions")
    assert session.headers["authorization"] == "Bearer sk_test_artnex"
    p = session.params
    assert (p["mode"], p["line_items[0][price]"], p["line_items[0][quantity]"]) == ("payment", "price_five_k", "1")
    assert p["success_url"] == "http://testserver/billing/success/?session_id={CHECKOUT_SESSION_ID}"
    assert p["cancel_url"] == "http://testserver/billing/cancel/"
    row = Checkout.objects.get()
    assert (row.account, row.pack, row.credits, row.amount_cents, row.status) == (
        customer.account, pack, 5_000, 2_000, "open")
    assert customer.refresh().credits == 1_000  # nothing moves before Stripe confirms the payment
    # A second purchase reuses the account's Stripe customer.
    signed_in.post(f"/billing/buy/pack/{pack.slug}/")
    assert len(fake_stripe.posted("/v1/customers")) == 1 and StripeCustomer.objects.count() == 1


def test_plan_checkout_is_a_subscription(signed_in: Client, customer, pro, fake_stripe: FakeStripe) -> None:
    assert signed_in.post("/billing/buy/plan/pro/").status_code == 303
    (session,) = fake_stripe.posted("/v1/checkout/sessions")
    assert (session.params["mode"], session.params["line_items[0][price]"]) == ("subscription", "price_pro_monthly")
    assert session.params["subscription_data[metadata][artnex_item]"] == "artnex_plan_pro"
    assert Checkout.objects.get().plan == pro


@pytest.mark.parametrize("url", ["/billing/buy/pack/nope/", "/billing/buy/plan/free/", "/billing/buy/gift/pro/"])
def test_checkout_of_something_not_sold_is_404(signed_in: Client, url: str, fake_stripe: FakeStripe) -> None:
    assert signed_in.post(url).status_code == 404
    assert fake_stripe.posted("/v1/checkout/sessions") == []


def test_checkout_of_an_unsynced_pack_explains(signed_in: Client, pack, fake_stripe: FakeStripe) -> None:
    pack.stripe_price_id = ""
    pack.save()
    answer = signed_in.post(f"/billing/buy/pack/{pack.slug}/", follow=True)
    assert "stripe_sync" in answer.content.decode() and not Checkout.objects.exists()


def test_stripe_refusing_is_a_message_not_a_500(signed_in: Client, pack, fake_stripe: FakeStripe) -> None:
    fake_stripe.fail_next = 1
    answer = signed_in.post(f"/billing/buy/pack/{pack.slug}/", follow=True)
    assert answer.status_code == 200 and "Nothing was charged" in answer.content.decode()
    assert not Checkout.objects.exists()


def test_success_page_shows_credits_only_after_the_webhook(signed_in: Client, customer, stripe_customer, pack,
                                                          webhooks: Webhooks) -> None:
    row = checkout_row(customer.account, pack=pack)
    url = f"/billing/success/?session_id={row.session_id}"
    pending = signed_in.get(url).content.decode()
    assert 'data-testid="pending"' in pending and "arrive with the payment confirmation" in pending
    assert customer.refresh().credits == 1_000  # the redirect alone grants nothing
    webhooks.deliver(event("checkout.session.completed", session_object(row, stripe_customer.customer_id)))
    done = signed_in.get(url).content.decode()
    assert 'data-testid="confirmed"' in done and "<strong>5000</strong> credits were added" in done
    assert "<strong>6000</strong>" in done


def test_success_page_of_another_accounts_session_shows_nothing(client: Client, make_customer, pack) -> None:
    owner, intruder = make_customer(), make_customer()
    row = checkout_row(owner.account, pack=pack)
    client.force_login(intruder.account.user)
    text = client.get(f"/billing/success/?session_id={row.session_id}").content.decode()
    assert "no record of this payment" in text and "5000" not in text


def test_cancel_page(signed_in: Client) -> None:
    text = signed_in.get("/billing/cancel/").content.decode()
    assert "No payment was taken" in text and "1000 credits" in text


def test_billing_portal_link(signed_in: Client, stripe_customer, fake_stripe: FakeStripe) -> None:
    assert "/billing/manage/" in signed_in.get("/billing/").content.decode()
    answer = signed_in.post("/billing/manage/")
    assert answer.status_code == 303 and answer["Location"] == "https://billing.stripe.com/p/session/test"
    (call,) = fake_stripe.posted("/v1/billing_portal/sessions")
    assert call.params == {"customer": stripe_customer.customer_id, "return_url": "http://testserver/billing/"}


def test_no_billing_portal_before_a_purchase(signed_in: Client, fake_stripe: FakeStripe) -> None:
    assert "/billing/manage/" not in signed_in.get("/billing/").content.decode()
    assert signed_in.post("/billing/manage/").status_code == 302
    assert fake_stripe.calls == []


def test_ledger_history_is_paginated(signed_in: Client, customer: Any) -> None:
    for n in range(60):
        ledger.grant(customer.account.pk, 1, reason=f"gift {n}")
    first = signed_in.get("/billing/").content.decode()
    assert "gift 59" in first and "gift 5<" not in first and "Page 1 of 2" in first
    assert "gift 5<" in signed_in.get("/billing/?page=2").content.decode()


def test_a_subscriber_changes_plan_in_the_portal_not_a_second_checkout(signed_in: Client, customer, pro,
                                                                      fake_stripe: FakeStripe) -> None:
    business = type(pro).objects.get(slug="business")
    business.stripe_price_id = "price_business"
    business.save()
    Subscription.objects.create(subscription_id="sub_live", account=customer.account, plan=pro, status="active",
                                last_event_at=timezone.now())
    text = signed_in.get("/billing/buy/").content.decode()
    assert "/billing/buy/plan/business/" not in text and "You have a subscription" in text
    answer = signed_in.post("/billing/buy/plan/business/")
    assert answer.status_code == 302 and answer["Location"] == "/billing/"
    assert fake_stripe.posted("/v1/checkout/sessions") == []
