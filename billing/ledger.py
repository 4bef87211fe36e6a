"""Every change of a credit balance goes through here.

Each function runs inside a transaction that locks the account row (``select_for_update``),
writes one ledger row and moves the cached balance with it, so concurrent requests are
serialised per account and can never overdraw.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Sum

from accounts.models import Account

from .models import LedgerEntry


class InsufficientCredits(Exception):
    """The balance is below the amount asked for; nothing was written."""


def _append(
    account_id: int, kind: str, amount: int, *, reason: str = "", request_id: str = "",
    created_by: User | None = None,
) -> LedgerEntry:
    account = Account.objects.select_for_update().get(pk=account_id)
    balance = account.credits + amount
    if balance < 0:
        raise InsufficientCredits(f"balance {account.credits} is below {-amount}")
    Account.objects.filter(pk=account_id).update(credits=balance)
    return LedgerEntry.objects.create(
        account_id=account_id, kind=kind, amount=amount, balance_after=balance,
        reason=reason, request_id=request_id, created_by=created_by,
    )


def charge(account_id: int, amount: int, request_id: str) -> LedgerEntry:
    """Take credits for a request; refused (InsufficientCredits) rather than overdrawn."""
    with transaction.atomic():
        return _append(account_id, LedgerEntry.Kind.CHARGE, -amount, request_id=request_id,
                       reason="upscale request")


def refund(request_id: str, reason: str) -> LedgerEntry | None:
    """Give back what a request was charged; a second call for the same request is a no-op."""
    with transaction.atomic():
        charged = LedgerEntry.objects.filter(request_id=request_id, kind=LedgerEntry.Kind.CHARGE).first()
        if charged is None:
            return None
        # Lock first, then look for an earlier refund: two refunds of one request serialise.
        Account.objects.select_for_update().get(pk=charged.account_id)
        if LedgerEntry.objects.filter(request_id=request_id, kind=LedgerEntry.Kind.REFUND).exists():
            return None
        return _append(charged.account_id, LedgerEntry.Kind.REFUND, -charged.amount,
                       request_id=request_id, reason=reason)


def grant(account_id: int, amount: int, reason: str, created_by: User | None = None) -> LedgerEntry:
    if amount == 0:
        raise ValueError("a grant of 0 credits changes nothing")
    with transaction.atomic():
        return _append(account_id, LedgerEntry.Kind.GRANT, amount, reason=reason, created_by=created_by)


def ledger_balance(account_id: int) -> int:
    """The balance recomputed from the ledger alone: must always equal Account.credits."""
    total = LedgerEntry.objects.filter(account_id=account_id).aggregate(total=Sum("amount"))["total"]
    return int(total or 0)
