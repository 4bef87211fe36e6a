"""Every change of a credit balance goes through here.

Each function runs inside a transaction that locks the account row (``select_for_update``),
writes one ledger row and moves the cached balance with it, so concurrent requests are
serialised per account and can never overdraw. A row with a reference is written at most
once per kind (a unique constraint backs the check made under the lock).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Sum

from accounts.models import Account

from .models import LedgerEntry

Kind = LedgerEntry.Kind
Ref = LedgerEntry.Reference


class InsufficientCredits(Exception):
    """The balance is below the amount asked for; nothing was written."""


def _lock(account_id: int) -> Account:
    return Account.objects.select_for_update().get(pk=account_id)


def _append(
    account: Account, kind: str, amount: int, *, reason: str = "", reference_kind: str = "",
    reference_id: str = "", created_by: User | None = None,
) -> LedgerEntry:
    """Write one row and move the balance; the caller holds the account's lock."""
    balance = account.credits + amount
    if balance < 0:
        raise InsufficientCredits(f"balance {account.credits} is below {-amount}")
    Account.objects.filter(pk=account.pk).update(credits=balance)
    account.credits = balance
    return LedgerEntry.objects.create(
        account_id=account.pk, kind=kind, amount=amount, balance_after=balance, reason=reason[:255],
        reference_kind=reference_kind, reference_id=reference_id, created_by=created_by,
    )


def _existing(kind: str, reference_kind: str, reference_id: str) -> LedgerEntry | None:
    return LedgerEntry.objects.filter(kind=kind, reference_kind=reference_kind, reference_id=reference_id).first()


def charge(account_id: int, amount: int, request_id: str) -> LedgerEntry:
    """Take credits for a request; refused (InsufficientCredits) rather than overdrawn."""
    with transaction.atomic():
        return _append(_lock(account_id), Kind.CHARGE, -amount, reference_kind=Ref.UPSCALE_REQUEST,
                       reference_id=request_id, reason="upscale request")


def refund(request_id: str, reason: str) -> LedgerEntry | None:
    """Give back what a request was charged; a second call for the same request is a no-op."""
    with transaction.atomic():
        charged = _existing(Kind.CHARGE, Ref.UPSCALE_REQUEST, request_id)
        if charged is None:
            return None
        # Lock first, then look for an earlier refund: two refunds of one request serialise.
        account = _lock(charged.account_id)
        if _existing(Kind.REFUND, Ref.UPSCALE_REQUEST, request_id) is not None:
            return None
        return _append(account, Kind.REFUND, -charged.amount, reference_kind=Ref.UPSCALE_REQUEST,
                       reference_id=request_id, reason=reason)


def grant(account_id: int, amount: int, reason: str, created_by: User | None = None, *,
          opening: bool = False) -> LedgerEntry:
    """An operator's grant (negative: take back, never below 0), the one path admin uses; or,
    with ``opening``, an account's starting credits, which reference the account: once each."""
    if amount == 0:
        raise ValueError("a grant of 0 credits changes nothing")
    reference = (Ref.ACCOUNT_OPENING, str(account_id)) if opening else (Ref.ADMIN_GRANT, "")
    with transaction.atomic():
        return _append(_lock(account_id), Kind.GRANT, amount, reason=reason, created_by=created_by,
                       reference_kind=reference[0], reference_id=reference[1])


def credit_once(account_id: int, amount: int, kind: str, reference_kind: str, reference_id: str,
                reason: str) -> LedgerEntry | None:
    """Add credits paid for by ``reference`` (a Checkout Session, an invoice) unless that
    reference already paid out: None then. Safe to call any number of times."""
    if amount <= 0 or not reference_id:
        raise ValueError("a paid credit needs a positive amount and a reference")
    with transaction.atomic():
        account = _lock(account_id)
        if _existing(kind, reference_kind, reference_id) is not None:
            return None
        return _append(account, kind, amount, reason=reason, reference_kind=reference_kind,
                       reference_id=reference_id)


def take_back_once(account_id: int, amount: int, reference_id: str, reason: str) -> tuple[LedgerEntry, int] | None:
    """Take back up to ``amount`` credits for a refunded payment, never below 0: answers the
    row and the credits it could not recover (the customer spent them), or None when this
    refund was already recorded. The row is written even when nothing could be taken, so
    the ledger shows the refund."""
    if amount <= 0 or not reference_id:
        raise ValueError("a take-back needs a positive amount and a reference")
    with transaction.atomic():
        account = _lock(account_id)
        if _existing(Kind.CLAWBACK, Ref.STRIPE_REFUND, reference_id) is not None:
            return None
        taken = min(amount, account.credits)
        short = amount - taken
        if short:
            reason = f"{reason}; {short} credits already spent"
        entry = _append(account, Kind.CLAWBACK, -taken, reason=reason, reference_kind=Ref.STRIPE_REFUND,
                        reference_id=reference_id)
        return entry, short


def ledger_balance(account_id: int) -> int:
    """The balance recomputed from the ledger alone: must always equal Account.credits."""
    total = LedgerEntry.objects.filter(account_id=account_id).aggregate(total=Sum("amount"))["total"]
    return int(total or 0)
