"""Opening a customer account: the user, the account on a plan, and its starting grant.

One function for every way in (``create_customer``, the admin's "Add account", the portal's
sign-up), so every new account gets the same plan rules and a ledger row for its first credits.
It lives in billing because the grant is a ledger entry: accounts may not import billing.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from accounts.models import Account, Plan

from . import ledger

SIGNUP_REASON = "sign-up grant"


class AccountExists(ValueError):
    """The email already has an account; nothing was written."""


class NoPlan(ValueError):
    """No plan exists to put the account on (an installation without its seeded plans)."""


def open_account(
    email: str, *, password: str | None = None, credits: int | None = None, plan: Plan | None = None,
    daily_quota: int | None = None, created_by: User | None = None,
) -> Account:
    """Create the account for ``email`` (and its user, unless one exists) with its starting credits.

    ``credits`` defaults to ``ARTNEX_SIGNUP_CREDITS``; ``plan`` to the default plan; without a
    ``password`` the user cannot log in with one (API-key-only customers, allauth sets its own).
    """
    email = email.strip().lower()
    credits = settings.ARTNEX_SIGNUP_CREDITS if credits is None else credits
    if credits < 0 or (daily_quota is not None and daily_quota < 0):
        raise ValueError("credits and daily_quota must be 0 or more")
    plan = plan or Plan.default()
    if plan is None:
        raise NoPlan("no plans exist; create one in the admin first")
    with transaction.atomic():
        user = _user(email, password)
        if Account.objects.filter(user=user).exists():
            raise AccountExists(f"{email} already has an account")
        account = Account.objects.create(user=user, plan=plan, daily_quota_override=daily_quota)
        if credits:
            ledger.grant(account.pk, credits, reason=SIGNUP_REASON, created_by=created_by, opening=True)
            account.refresh_from_db()
    return account


def _user(email: str, password: str | None) -> User:
    user_model = get_user_model()
    user = user_model.objects.filter(email__iexact=email).first()
    if user is None:
        # The e-mail is the user name too: customers know no other name.
        user = user_model.objects.create_user(username=email, email=email, password=password)
    elif password is not None:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user
