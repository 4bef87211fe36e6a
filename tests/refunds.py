"""The ledger's view of a refunded request, asserted the same way everywhere."""

from __future__ import annotations

from typing import Any

from billing import ledger
from billing.models import LedgerEntry


def assert_refunded(customer: Any, request_id: str, balance: int = 1000) -> None:
    """The balance is back where it was, the ledger agrees, and the request has exactly one
    charge and one refund."""
    assert customer.refresh().credits == balance
    assert ledger.ledger_balance(customer.account.pk) == balance
    kinds = sorted(LedgerEntry.objects.filter(request_id=request_id).values_list("kind", flat=True))
    assert kinds == ["charge", "refund"]
