"""Stripe webhooks: signed for real, verified by the stripe library, applied exactly once in
whatever order and however often Stripe delivers them."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from billing import ledger
from billing.models import Checkout, CreditShortfall, LedgerEntry, Payment, StripeEvent, Subscription

from .conftest import (
    WEBHOOK_URL,
    Webhooks,
    charge_object,
    checkout_row,
    event,
    invoice_object,
    session_object,
    sign,
    subscription_object,
)

pytestmark = pytest.mark.django_db


def balance_and_rows(customer: Any) -> tuple[int, int]:
    account = customer.refresh()
    assert ledger.ledger_balance(account.pk) == account.credits
    return account.credits, account.ledger.count()


def test_pack_checkout_grants_its_credits_once(webhooks: Webhooks, customer, stripe_customer, pack) -> None:
    row = checkout_row(customer.account, pack=pack)
    evt = event("checkout.session.completed", session_object(row, stripe_customer.customer_id))
    first = webhooks.deliver(evt)
    assert first.status_code == 200 and first.json()["outcome"] == "granted 5000 credits"
    assert balance_and_rows(customer) == (6_000, 2)
    entry = customer.account.ledger.first()
    assert (entry.kind, entry.reference_kind, entry.reference_id) == ("purchase", "stripe_checkout", row.session_id)
    row.refresh_from_db()
    assert row.status == Checkout.Status.COMPLETED
    # Stripe redelivers the same event: answered 200, nothing changes.
    again = webhooks.deliver(evt)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    # Another event about the same session (async confirmation) pays out nothing more either.
    confirmed = session_object(row, stripe_customer.customer_id)
    webhooks.deliver(event("checkout.session.async_payment_succeeded", confirmed))
    assert balance_and_rows(customer) == (6_000, 2)
    assert StripeEvent.objects.count() == 2


def test_unpaid_session_waits_for_the_async_confirmation(webhooks: Webhooks, customer, stripe_customer, pack) -> None:
    row = checkout_row(customer.account, pack=pack)
    webhooks.deliver(event("checkout.session.completed", session_object(row, stripe_customer.customer_id, paid=False)))
    assert balance_and_rows(customer) == (1_000, 1)
    webhooks.deliver(event("checkout.session.async_payment_succeeded",
                           session_object(row, stripe_customer.customer_id)))
    assert balance_and_rows(customer) == (6_000, 2)


def test_session_not_created_here_pays_nothing(webhooks: Webhooks, customer, stripe_customer, pack) -> None:
    row = checkout_row(customer.account, pack=pack)
    obj = session_object(row, stripe_customer.customer_id, id="cs_made_elsewhere")
    answer = webhooks.deliver(event("checkout.session.completed", obj))
    assert answer.status_code == 200 and answer.json()["outcome"].startswith("ignored")
    assert balance_and_rows(customer) == (1_000, 1)


@pytest.mark.parametrize("signature", ["", "t=1,v1=00", "bad", "wrong secret"])
def test_bad_signature_is_400_and_changes_nothing(webhooks: Webhooks, customer, stripe_customer, pack,
                                                  signature: str) -> None:
    row = checkout_row(customer.account, pack=pack)
    evt = event("checkout.session.completed", session_object(row, stripe_customer.customer_id))
    if signature == "wrong secret":
        signature = sign(json.dumps(evt).encode(), secret="whsec_someone_else")
    answer = webhooks.deliver(evt, signature=signature)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_webhook"
    assert balance_and_rows(customer) == (1_000, 1) and not StripeEvent.objects.exists()


def test_tampered_payload_and_stale_signature_are_refused(webhooks: Webhooks, customer, stripe_customer, pack) -> None:
    row = checkout_row(customer.account, pack=pack)
    evt = event("checkout.session.completed", session_object(row, stripe_customer.customer_id))
    signature = sign(json.dumps(evt).encode())
    evt["data"]["object"]["amount_total"] = 1
    assert webhooks.deliver(evt, signature=signature).status_code == 400
    old = sign(json.dumps(evt).encode(), timestamp=int(time.time()) - 3600)  # a replay from an hour ago
    assert webhooks.deliver(evt, signature=old).status_code == 400
    assert balance_and_rows(customer) == (1_000, 1)


def test_webhook_without_a_secret_is_refused(client, customer, settings) -> None:
    settings.STRIPE_WEBHOOK_SECRET = ""
    payload = json.dumps(event("invoice.paid", {"id": "in_x", "object": "invoice"})).encode()
    answer = client.post(WEBHOOK_URL, data=payload, content_type="application/json",
                         HTTP_STRIPE_SIGNATURE=sign(payload))
    assert answer.status_code == 400 and not StripeEvent.objects.exists()


def test_webhook_needs_no_csrf_token_but_only_post(webhooks: Webhooks) -> None:
    webhooks.client.enforce_csrf_checks = True
    answer = webhooks.deliver(event("customer.created", {"id": "cus_x", "object": "customer"}))
    assert answer.status_code == 200 and answer.json()["outcome"] == "ignored: event type not handled"
    assert webhooks.client.get(WEBHOOK_URL).status_code == 405


def test_plan_checkout_then_invoice_then_cancel(webhooks: Webhooks, customer, stripe_customer, pro) -> None:
    cid = stripe_customer.customer_id
    row = checkout_row(customer.account, plan=pro)
    session = session_object(row, cid)
    sub_id = session["subscription"]
    assert webhooks.deliver(event("checkout.session.completed", session)).json()["outcome"] == "plan is now pro"
    assert customer.refresh().plan.slug == "pro"
    invoice = invoice_object(sub_id, cid, pro)
    answer = webhooks.deliver(event("invoice.paid", invoice))
    assert answer.json()["outcome"].endswith("granted 30000 credits")
    assert balance_and_rows(customer) == (31_000, 2)
    entry = customer.account.ledger.first()
    assert (entry.kind, entry.reference_kind, entry.reference_id) == ("plan_credits", "stripe_invoice", invoice["id"])
    sub = Subscription.objects.get(subscription_id=sub_id)
    assert sub.current_period_end is not None and sub.current_period_end.timestamp() == (
        invoice["lines"]["data"][0]["period"]["end"])
    # The same invoice again (a different event about it) grants nothing more.
    webhooks.deliver(event("invoice.paid", invoice))
    assert balance_and_rows(customer) == (31_000, 2)
    # The next month's invoice does.
    webhooks.deliver(event("invoice.paid", invoice_object(sub_id, cid, pro)))
    assert balance_and_rows(customer) == (61_000, 3)
    # Cancelled: back to the free plan, credits already paid for stay.
    deleted = webhooks.deliver(event("customer.subscription.deleted",
                                     subscription_object(sub_id, cid, pro, status="canceled")))
    assert deleted.json()["outcome"] == "plan is now free"
    assert customer.refresh().plan.slug == "free" and customer.account.credits == 61_000


def test_invoice_before_checkout_completed(webhooks: Webhooks, customer, stripe_customer, pro) -> None:
    """Out of order: the first invoice's event overtakes the checkout's."""
    cid = stripe_customer.customer_id
    row = checkout_row(customer.account, plan=pro)
    session = session_object(row, cid)
    webhooks.deliver(event("invoice.paid", invoice_object(session["subscription"], cid, pro)))
    assert customer.refresh().plan.slug == "pro" and customer.account.credits == 31_000
    webhooks.deliver(event("checkout.session.completed", session))
    assert customer.refresh().plan.slug == "pro" and customer.account.credits == 31_000
    assert Subscription.objects.get().status == "active"


def test_late_update_does_not_undo_a_cancellation(webhooks: Webhooks, customer, stripe_customer, pro) -> None:
    cid, now = stripe_customer.customer_id, int(time.time())
    webhooks.deliver(event("customer.subscription.created", subscription_object("sub_late", cid, pro),
                           created=now - 100))
    assert customer.refresh().plan.slug == "pro"
    webhooks.deliver(event("customer.subscription.deleted", subscription_object("sub_late", cid, pro, "canceled"),
                           created=now))
    # An update Stripe sent before the cancellation arrives after it.
    late = webhooks.deliver(event("customer.subscription.updated", subscription_object("sub_late", cid, pro),
                                  created=now - 50))
    assert late.json()["outcome"] == "subscription already canceled: plan unchanged"
    assert customer.refresh().plan.slug == "free"
    assert Subscription.objects.get().status == "canceled"


def test_older_update_never_overwrites_a_newer_one(webhooks: Webhooks, customer, stripe_customer, pro) -> None:
    cid, now = stripe_customer.customer_id, int(time.time())
    webhooks.deliver(event("customer.subscription.updated", subscription_object("sub_o", cid, pro, "unpaid"),
                           created=now))
    assert customer.refresh().plan.slug == "free"
    stale = webhooks.deliver(event("customer.subscription.updated", subscription_object("sub_o", cid, pro),
                                   created=now - 10))
    assert stale.json()["outcome"].startswith("older than")
    assert customer.refresh().plan.slug == "free"
    webhooks.deliver(event("customer.subscription.updated", subscription_object("sub_o", cid, pro), created=now + 5))
    assert customer.refresh().plan.slug == "pro"


def test_plan_change_follows_the_subscription(webhooks: Webhooks, customer, stripe_customer, pro) -> None:
    business = type(pro).objects.get(slug="business")
    business.stripe_price_id = "price_business"
    business.save()
    cid, now = stripe_customer.customer_id, int(time.time())
    webhooks.deliver(event("customer.subscription.updated", subscription_object("sub_c", cid, pro), created=now))
    webhooks.deliver(event("customer.subscription.updated", subscription_object("sub_c", cid, business),
                           created=now + 1))
    assert customer.refresh().plan.slug == "business"
    # past_due: Stripe is still retrying the card, the customer keeps the plan meanwhile.
    webhooks.deliver(event("customer.subscription.updated", subscription_object("sub_c", cid, business, "past_due"),
                           created=now + 2))
    assert customer.refresh().plan.slug == "business"


def test_events_for_unknown_customers_are_recorded_and_ignored(webhooks: Webhooks, customer, pro) -> None:
    answer = webhooks.deliver(event("invoice.paid", invoice_object("sub_x", "cus_unknown", pro)))
    assert answer.status_code == 200 and answer.json()["outcome"].startswith("ignored")
    assert StripeEvent.objects.get().outcome.startswith("ignored")
    assert balance_and_rows(customer) == (1_000, 1)


def _paid_pack(webhooks: Webhooks, customer, stripe_customer, pack) -> str:
    row = checkout_row(customer.account, pack=pack)
    session = session_object(row, stripe_customer.customer_id)
    webhooks.deliver(event("checkout.session.completed", session))
    return str(session["payment_intent"])


def test_full_refund_takes_the_credits_back(webhooks: Webhooks, customer, stripe_customer, pack) -> None:
    intent = _paid_pack(webhooks, customer, stripe_customer, pack)
    refund = event("charge.refunded", charge_object(intent, 2_000, 2_000))
    assert webhooks.deliver(refund).json()["outcome"] == "took back 5000 credits"
    assert balance_and_rows(customer) == (1_000, 3)
    entry = customer.account.ledger.first()
    assert (entry.kind, entry.amount, entry.reference_kind) == ("clawback", -5_000, "stripe_refund")
    webhooks.deliver(refund)  # redelivered
    webhooks.deliver(event("charge.refunded", charge_object(intent, 2_000, 2_000)))  # another event, same state
    assert balance_and_rows(customer) == (1_000, 3) and not CreditShortfall.objects.exists()


def test_partial_refunds_take_back_their_share_in_any_order(webhooks: Webhooks, customer, stripe_customer,
                                                           pack) -> None:
    intent = _paid_pack(webhooks, customer, stripe_customer, pack)
    half, quarter = charge_object(intent, 2_000, 1_000), charge_object(intent, 2_000, 500)
    webhooks.deliver(event("charge.refunded", quarter))  # first refund: 500 of 2,000
    assert balance_and_rows(customer) == (6_000 - 1_250, 3)
    webhooks.deliver(event("charge.refunded", half))  # second refund: 1,000 of 2,000 in all
    assert balance_and_rows(customer) == (6_000 - 2_500, 4)
    webhooks.deliver(event("charge.refunded", quarter))  # the first one, redelivered late as a new event
    assert balance_and_rows(customer) == (6_000 - 2_500, 4)
    assert Payment.objects.get().credits_taken_back == 2_500


def test_refund_of_spent_credits_takes_what_is_there_and_flags(webhooks: Webhooks, customer, stripe_customer,
                                                              pack) -> None:
    intent = _paid_pack(webhooks, customer, stripe_customer, pack)
    ledger.charge(customer.account.pk, 5_800, "req_ups_spent")  # the customer used most of it
    answer = webhooks.deliver(event("charge.refunded", charge_object(intent, 2_000, 2_000)))
    assert answer.json()["outcome"] == "took back 200 credits; 4800 already spent: account flagged"
    assert balance_and_rows(customer) == (0, 4)
    entry = customer.account.ledger.first()
    assert entry.amount == -200 and "4800 credits already spent" in entry.reason
    shortfall = CreditShortfall.objects.get()
    assert (shortfall.account_id, shortfall.credits, shortfall.resolved_at) == (customer.account.pk, 4_800, None)


def test_refund_of_a_plan_invoice(webhooks: Webhooks, customer, stripe_customer, pro) -> None:
    invoice = invoice_object("sub_r", stripe_customer.customer_id, pro)
    webhooks.deliver(event("invoice.paid", invoice))
    intent = invoice["payments"]["data"][0]["payment"]["payment_intent"]
    webhooks.deliver(event("charge.refunded", charge_object(intent, pro.monthly_price_cents, pro.monthly_price_cents)))
    assert balance_and_rows(customer) == (1_000, 3)


def test_refund_of_an_unrelated_charge_is_ignored(webhooks: Webhooks, customer) -> None:
    answer = webhooks.deliver(event("charge.refunded", charge_object("pi_other", 900, 900)))
    assert answer.json()["outcome"] == "ignored: this charge paid for no credits"
    assert LedgerEntry.objects.filter(kind="clawback").count() == 0


@pytest.mark.parametrize(("event_type", "status", "shown"), [
    ("checkout.session.expired", Checkout.Status.EXPIRED, "Checkout expired"),
    ("checkout.session.async_payment_failed", Checkout.Status.FAILED, "Payment declined"),
])
def test_a_checkout_that_ends_unpaid_closes_and_grants_nothing(
    webhooks: Webhooks, client, customer, stripe_customer, pack, event_type, status, shown
) -> None:
    from tests.portal import login

    row = checkout_row(customer.account, pack=pack)
    obj = session_object(row, stripe_customer.customer_id, paid=False, status="expired")
    answer = webhooks.deliver(event(event_type, obj))
    assert answer.status_code == 200 and answer.json()["outcome"].endswith("nothing to grant")
    row.refresh_from_db()
    assert row.status == status and row.completed_at is not None
    assert balance_and_rows(customer) == (1_000, 1)
    # The success page stops refreshing and says what happened.
    page = login(client, customer.account).get(f"/billing/success/?session_id={row.session_id}").content.decode()
    assert shown in page and 'http-equiv="refresh"' not in page and "/billing/buy/" in page


def test_a_paid_checkout_is_never_closed_by_a_late_event(webhooks: Webhooks, customer, stripe_customer, pack) -> None:
    row = checkout_row(customer.account, pack=pack)
    webhooks.deliver(event("checkout.session.completed", session_object(row, stripe_customer.customer_id)))
    late = webhooks.deliver(event("checkout.session.expired", session_object(row, stripe_customer.customer_id)))
    assert late.json()["outcome"] == "ignored: checkout already closed"
    row.refresh_from_db()
    assert row.status == Checkout.Status.COMPLETED
    assert balance_and_rows(customer) == (6_000, 2)
