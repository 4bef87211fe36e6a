"""Portal sign-up: allauth creates the login, billing opens the customer's account with it.

Lives in billing, not accounts, because opening an account means a plan and a starting grant
in the ledger, and accounts may not import billing.
"""

from __future__ import annotations

from typing import cast

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User
from django.db import transaction
from django.forms import BaseForm
from django.http import HttpRequest

from accounts.models import Account, Plan

from . import ledger


class SignupAdapter(DefaultAccountAdapter):
    def save_user(
        self, request: HttpRequest, user: AbstractBaseUser, form: BaseForm, commit: bool = True,
    ) -> AbstractBaseUser:
        # One transaction: a customer never has a login without an account, or the reverse.
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=True)
            plan = Plan.default()
            assert plan is not None, "no plans exist"
            account = Account.objects.create(user=cast(User, user), plan=plan)
            credits = getattr(settings, "ARTNEX_SIGNUP_CREDITS", 0)
            if credits:
                ledger.grant(account.pk, credits, reason="sign-up grant")
        return user
