"""What each Stripe event does. Every handler runs inside the transaction that records the
event, is safe to run twice (ledger references and unique Stripe ids), and answers a short
outcome kept on the event row for operators.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import ledger, subscriptions
from .models import Checkout, CreditShortfall, LedgerEntry, Payment
from .stripe_objects import (
    Obj,
    account_for_customer,
    get_id,
    invoice_payment_ids,
    invoice_plan_and_period,
    invoice_subscription,
    plan_for_price,
    subscription_period_end,
    subscription_price,
)

Handler = Callable[[Obj, datetime], str]


def checkout_completed(session: Obj, event_at: datetime) -> str:
    """A pack's credits, or the start of a plan. Also ``async_payment_succeeded``: a bank
    debit completes the session unpaid and confirms the payment later."""
    # of=self: PostgreSQL cannot lock the nullable side of the outer joins to pack and plan.
    checkout = Checkout.objects.select_for_update(of=("self",)).select_related("pack", "plan", "account").filter(
        session_id=session["id"]).first()
    if checkout is None:
        return "ignored: not a Checkout Session created by this installation"
    if session.get("payment_status") not in {"paid", "no_payment_required"}:
        return "waiting: payment not confirmed yet"
    if checkout.pack is not None:
        outcome = _pay_pack(checkout, session)
    else:
        assert checkout.plan is not None
        subscription_id = get_id(session.get("subscription"))
        if not subscription_id:
            return "ignored: a plan checkout without a subscription"
        outcome = subscriptions.apply(account=checkout.account, subscription_id=subscription_id,
                                      plan=checkout.plan, status=None, event_at=event_at)
    if checkout.status != Checkout.Status.COMPLETED:
        checkout.status, checkout.completed_at = Checkout.Status.COMPLETED, timezone.now()
        checkout.save(update_fields=["status", "completed_at"])
    return outcome


def checkout_closed_unpaid(status: Checkout.Status) -> Handler:
    """``checkout.session.expired`` and ``.async_payment_failed``: the order ends without
    money, so the success page stops waiting and says so. Only an open checkout changes: a paid
    one is never marked unpaid by a late or replayed event."""

    def handle(session: Obj, event_at: datetime) -> str:
        closed = Checkout.objects.filter(session_id=session["id"], status=Checkout.Status.OPEN).update(
            status=status, completed_at=timezone.now())
        if closed:
            return f"checkout {status.label.lower()}: nothing to grant"
        if Checkout.objects.filter(session_id=session["id"]).exists():
            return "ignored: checkout already closed"
        return "ignored: not a Checkout Session created by this installation"

    return handle


def _pay_pack(checkout: Checkout, session: Obj) -> str:
    assert checkout.pack is not None
    Payment.objects.get_or_create(stripe_id=checkout.session_id, defaults={
        "account": checkout.account, "payment_intent": get_id(session.get("payment_intent")),
        "amount_cents": session.get("amount_total") or checkout.amount_cents,
        "currency": session.get("currency") or settings.ARTNEX_CURRENCY, "credits": checkout.credits,
    })
    entry = ledger.credit_once(checkout.account_id, checkout.credits, LedgerEntry.Kind.PURCHASE,
                               LedgerEntry.Reference.STRIPE_CHECKOUT, checkout.session_id,
                               reason=f"bought {checkout.pack.name}")
    return f"granted {checkout.credits} credits" if entry else "credits already granted"


def invoice_paid(invoice: Obj, event_at: datetime) -> str:
    """A paid month of a plan: its credits (once per invoice) and the plan's period."""
    account = account_for_customer(invoice.get("customer"))
    if account is None:
        return "ignored: customer unknown to this installation"
    subscription_id, _ = invoice_subscription(invoice)
    plan, period_end = invoice_plan_and_period(invoice)
    if not subscription_id or plan is None:
        return "ignored: not an invoice for a plan"
    outcome = subscriptions.apply(account=account, subscription_id=subscription_id, plan=plan, status=None,
                                  event_at=event_at, period_end=period_end)
    if not plan.monthly_credits:
        return outcome
    intent, charge = invoice_payment_ids(invoice)
    if invoice.get("amount_paid"):
        Payment.objects.get_or_create(stripe_id=invoice["id"], defaults={
            "account": account, "payment_intent": intent, "charge": charge, "amount_cents": invoice["amount_paid"],
            "currency": invoice.get("currency") or settings.ARTNEX_CURRENCY, "credits": plan.monthly_credits,
        })
    entry = ledger.credit_once(account.pk, plan.monthly_credits, LedgerEntry.Kind.PLAN_CREDITS,
                               LedgerEntry.Reference.STRIPE_INVOICE, invoice["id"],
                               reason=f"{plan.name} plan: monthly credits")
    return f"{outcome}; " + (f"granted {plan.monthly_credits} credits" if entry else "credits already granted")


def subscription_changed(subscription: Obj, event_at: datetime) -> str:
    account = account_for_customer(subscription.get("customer"))
    if account is None:
        return "ignored: customer unknown to this installation"
    return subscriptions.apply(
        account=account, subscription_id=subscription["id"], plan=plan_for_price(subscription_price(subscription)),
        status=subscription.get("status"), event_at=event_at, period_end=subscription_period_end(subscription),
    )


def subscription_deleted(subscription: Obj, event_at: datetime) -> str:
    return subscription_changed({**subscription, "status": "canceled"}, event_at)


def charge_refunded(charge: Obj, event_at: datetime) -> str:
    """Take back the share of credits that the refunded share of the money paid for.
    ``amount_refunded`` is cumulative, so each partial refund takes only what is new."""
    intent = get_id(charge.get("payment_intent"))
    payments = Payment.objects.select_for_update()
    payment = (intent and payments.filter(payment_intent=intent).first()) or payments.filter(
        charge=charge["id"]).first()
    if payment is None:
        return "ignored: this charge paid for no credits"
    refunded, paid = int(charge.get("amount_refunded") or 0), int(charge.get("amount") or payment.amount_cents)
    owed = payment.credits if refunded >= paid else payment.credits * refunded // max(paid, 1)
    due = owed - payment.credits_taken_back
    if due <= 0:
        return "refund already accounted for"
    result = ledger.take_back_once(payment.account_id, due, f"{charge['id']}:{refunded}",
                                   reason=f"Stripe refunded {refunded} of {paid} ({payment.stripe_id})")
    if result is None:
        return "refund already accounted for"
    entry, short = result
    Payment.objects.filter(pk=payment.pk).update(credits_taken_back=owed)
    if short:
        CreditShortfall.objects.create(account_id=payment.account_id, payment=payment, credits=short,
                                       reason=f"refund of {payment.stripe_id}: credits already spent")
        return f"took back {-entry.amount} credits; {short} already spent: account flagged"
    return f"took back {-entry.amount} credits"


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": checkout_completed,
    "checkout.session.async_payment_succeeded": checkout_completed,
    "checkout.session.expired": checkout_closed_unpaid(Checkout.Status.EXPIRED),
    "checkout.session.async_payment_failed": checkout_closed_unpaid(Checkout.Status.FAILED),
    "invoice.paid": invoice_paid,
    "customer.subscription.created": subscription_changed,
    "customer.subscription.updated": subscription_changed,
    "customer.subscription.deleted": subscription_deleted,
    "charge.refunded": charge_refunded,
}


def handle(event_type: str, obj: Obj, event_at: datetime) -> str:
    handler = HANDLERS.get(event_type)
    if handler is None:
        return "ignored: event type not handled"
    with transaction.atomic():
        return handler(obj, event_at)
