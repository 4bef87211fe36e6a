from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from accounts.models import Account

from . import (
    account_admin,  # noqa: F401 - registers the account admin with its money actions
    ledger,
)
from .models import LedgerEntry


class GrantForm(forms.Form):
    account = forms.ModelChoiceField(queryset=Account.objects.select_related("user"))
    amount = forms.IntegerField(help_text="Credits to add (negative to take back; the balance cannot go below 0).")
    reason = forms.CharField(max_length=255)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Read-only: the ledger is append-only. Credits change through "Grant credits"."""

    list_display = ["created_at", "account", "kind", "amount", "balance_after", "request_id", "reason", "created_by"]
    list_filter = ["kind"]
    search_fields = ["account__user__email", "request_id", "reason"]
    list_select_related = ["account__user", "created_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LedgerEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: LedgerEntry | None = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        grant = path("grant/", self.admin_site.admin_view(self.grant_view), name="billing_ledgerentry_grant")
        return [grant, *super().get_urls()]

    def grant_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("accounts.change_account"):
            return HttpResponse(status=403)
        form = GrantForm(request.POST or None, initial={"account": request.GET.get("account")})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                # admin_view() let only a logged-in staff user this far.
                ledger.grant(data["account"].pk, data["amount"], data["reason"], created_by=cast(User, request.user))
            except (ledger.InsufficientCredits, ValueError) as exc:
                form.add_error("amount", str(exc))
            else:
                self.message_user(request, f"Granted {data['amount']} credits to {data['account']}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:billing_ledgerentry_changelist"))
        context = {**self.admin_site.each_context(request), "title": "Grant credits", "form": form,
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/billing/ledgerentry/grant.html", context)
