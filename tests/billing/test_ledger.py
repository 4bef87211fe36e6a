"""The ledger's own rules: references pay out once, a take-back never overdraws, and the
cached balance always equals the sum of the rows."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from billing import ledger
from billing.models import LedgerEntry

pytestmark = pytest.mark.django_db

Kind, Ref = LedgerEntry.Kind, LedgerEntry.Reference


def test_charge_and_refund_reference_the_upscale_request(customer) -> None:
    charged = ledger.charge(customer.account.pk, 100, "req_ups_1")
    assert (charged.reference_kind, charged.reference_id, charged.request_id) == (
        Ref.UPSCALE_REQUEST, "req_ups_1", "req_ups_1")
    refunded = ledger.refund("req_ups_1", reason="upscale failed: engine_error")
    assert refunded is not None and refunded.amount == 100 and refunded.request_id == "req_ups_1"
    assert ledger.refund("req_ups_1", reason="again") is None
    assert ledger.refund("req_ups_unknown", reason="never charged") is None
    # request_id is derived by the database: lookups by it keep working.
    assert set(LedgerEntry.objects.filter(request_id="req_ups_1").values_list("kind", flat=True)) == {
        "charge", "refund"}
    assert not LedgerEntry.objects.filter(request_id="req_ups_1", kind="grant").exists()
    assert customer.refresh().credits == 1_000 == ledger.ledger_balance(customer.account.pk)


def test_a_request_is_charged_once(customer) -> None:
    ledger.charge(customer.account.pk, 100, "req_ups_2")
    with pytest.raises(IntegrityError):
        ledger.charge(customer.account.pk, 100, "req_ups_2")


def test_charge_is_refused_rather_than_overdrawn(customer) -> None:
    with pytest.raises(ledger.InsufficientCredits):
        ledger.charge(customer.account.pk, 1_001, "req_ups_3")
    assert customer.refresh().credits == 1_000 and customer.account.ledger.count() == 1


def test_credit_once_per_reference(customer) -> None:
    first = ledger.credit_once(customer.account.pk, 500, Kind.PURCHASE, Ref.STRIPE_CHECKOUT, "cs_1", "bought")
    assert first is not None and first.balance_after == 1_500
    assert ledger.credit_once(customer.account.pk, 500, Kind.PURCHASE, Ref.STRIPE_CHECKOUT, "cs_1", "again") is None
    # The same id under another kind of reference is another thing.
    assert ledger.credit_once(customer.account.pk, 7, Kind.PLAN_CREDITS, Ref.STRIPE_INVOICE, "cs_1", "x") is not None
    with pytest.raises(ValueError):
        ledger.credit_once(customer.account.pk, 0, Kind.PURCHASE, Ref.STRIPE_CHECKOUT, "cs_2", "nothing")
    with pytest.raises(ValueError):
        ledger.credit_once(customer.account.pk, 5, Kind.PURCHASE, Ref.STRIPE_CHECKOUT, "", "no reference")
    assert customer.refresh().credits == 1_507 == ledger.ledger_balance(customer.account.pk)


def test_take_back_stops_at_zero_and_reports_the_rest(customer) -> None:
    entry, short = ledger.take_back_once(customer.account.pk, 1_500, "ch_1:2000", "refund") or (None, None)
    assert entry is not None and (entry.amount, entry.balance_after, short) == (-1_000, 0, 500)
    assert ledger.take_back_once(customer.account.pk, 1_500, "ch_1:2000", "refund") is None
    # Nothing left: the row is still written, so the ledger shows the refund.
    entry, short = ledger.take_back_once(customer.account.pk, 10, "ch_2:10", "refund") or (None, None)
    assert entry is not None and (entry.amount, short) == (0, 10)
    assert customer.refresh().credits == 0 == ledger.ledger_balance(customer.account.pk)


def test_grant_is_an_admin_grant(customer) -> None:
    entry = ledger.grant(customer.account.pk, -200, reason="correction")
    assert (entry.kind, entry.reference_kind, entry.reference_id) == (Kind.GRANT, Ref.ADMIN_GRANT, "")
    ledger.grant(customer.account.pk, 5, reason="twice is fine: grants have no reference")
    ledger.grant(customer.account.pk, 5, reason="twice is fine: grants have no reference")
    with pytest.raises(ValueError):
        ledger.grant(customer.account.pk, 0, reason="nothing")
    with pytest.raises(ledger.InsufficientCredits):
        ledger.grant(customer.account.pk, -10_000, reason="too much")
    assert customer.refresh().credits == 810


def test_starting_credits_reference_the_account_once(db, settings) -> None:
    from billing.onboarding import open_account

    settings.ARTNEX_SIGNUP_CREDITS = 300
    account = open_account("new@example.com")
    entry = account.ledger.get()
    assert (entry.kind, entry.reference_kind, entry.reference_id) == (Kind.GRANT, Ref.ACCOUNT_OPENING, str(account.pk))
    with pytest.raises(IntegrityError):
        ledger.grant(account.pk, 300, reason="sign-up grant", opening=True)
