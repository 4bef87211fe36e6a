"""The account admin's money side: a link to the one grant-credits form, and "Add account"
through onboarding.

Registered over accounts' own AccountAdmin (billing's admin loads after accounts'), so the
accounts app stays free of billing imports while the admin keeps one page per customer.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin import AccountAdmin
from accounts.models import Account

from .onboarding import AccountExists, open_account


class NewAccountForm(forms.ModelForm):
    """Adding an account opens it the way sign-up does: a user for the e-mail and a starting grant."""

    email = forms.EmailField()
    starting_credits = forms.IntegerField(
        min_value=0, required=False, help_text="Leave empty for the sign-up grant (ARTNEX_SIGNUP_CREDITS).",
    )

    class Meta:
        model = Account
        fields = ["plan", "daily_quota_override"]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if Account.objects.filter(user__email__iexact=email).exists():
            raise forms.ValidationError("This e-mail already has an account.")
        return email


class BillingAccountAdmin(AccountAdmin):

    def get_form(self, request: HttpRequest, obj: Account | None = None, change: bool = False,
                 **kwargs: Any) -> type[forms.ModelForm]:
        if obj is None:
            kwargs["form"] = NewAccountForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Account | None = None) -> list[str]:  # type: ignore[override]
        if obj is None:
            return ["email", "plan", "daily_quota_override", "starting_credits"]
        return [str(field) for field in super().get_fields(request, obj)]

    def get_readonly_fields(self, request: HttpRequest, obj: Account | None = None) -> list[str]:
        if obj is None:
            return []
        extra = ["grant_link"] if request.user.has_perm("accounts.change_account") else []
        return [*super().get_readonly_fields(request, obj), *extra]

    def get_inlines(self, request: HttpRequest, obj: Account | None) -> list[type[Any]]:
        # A new account has no keys to show; the customer or create_customer makes them.
        return [] if obj is None else list(super().get_inlines(request, obj))

    def save_model(self, request: HttpRequest, obj: Account, form: forms.ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        try:
            opened = open_account(data["email"], credits=data["starting_credits"], plan=data["plan"],
                                  daily_quota=data["daily_quota_override"], created_by=cast(User, request.user))
        except AccountExists as exc:  # raced another add of the same e-mail since clean_email
            raise forms.ValidationError(str(exc)) from exc
        # The admin logs and redirects with the object it passed in: make it the saved account.
        obj.pk, obj.user, obj.credits, obj.created_at = opened.pk, opened.user, opened.credits, opened.created_at

    @admin.display(description="Credits")
    def grant_link(self, account: Account) -> str:
        # Credits move through one admin path, the ledger's grant form (ledger.grant): linked
        # from here rather than repeated as an action.
        url = reverse("admin:billing_ledgerentry_grant")
        return format_html('<a href="{}?account={}">Grant or take back credits</a>', url, account.pk)


admin.site.unregister(Account)
admin.site.register(Account, BillingAccountAdmin)
