"""Portal sign-up: allauth checks the form, billing opens the customer's account.

Lives in billing, not accounts, because opening an account means a plan and a starting grant
in the ledger, and accounts may not import billing.
"""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth.base_user import AbstractBaseUser
from django.forms import BaseForm
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import Account

from .onboarding import open_account


class SignupAdapter(DefaultAccountAdapter):
    def save_user(
        self, request: HttpRequest, user: AbstractBaseUser, form: BaseForm, commit: bool = True,
    ) -> AbstractBaseUser:
        # The one account-creation path: the user (named by their email, like every customer),
        # the account on the default plan and the starting grant, in one transaction. allauth's
        # unsaved ``user`` is dropped; the form has already checked that the email is free.
        data = form.cleaned_data
        return open_account(data["email"], password=data["password1"]).user

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # An operator's login has no customer account, so no dashboard: send it to the admin.
        user = request.user
        if user.is_staff and not Account.objects.filter(user_id=user.pk).exists():
            return reverse("admin:index")
        return super().get_login_redirect_url(request)
