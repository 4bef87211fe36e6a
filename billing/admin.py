"""Django admin for billing: the ledger (read-only, with the one grant-credits form), credit
packs, and what Stripe told us (customers, checkouts, payments, subscriptions, events: all
read-only). Money moves only for staff with the ``accounts.change_account`` permission."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from accounts.models import Account
from artnex.admin_actions import GuardedActionsMixin

from . import (
    account_admin,  # noqa: F401 - registers the account admin with its money side
    ledger,
)
from .models import (
    Checkout,
    CreditPack,
    CreditShortfall,
    LedgerEntry,
    Payment,
    StripeCustomer,
    StripeEvent,
    Subscription,
)

# Granting or taking back credits changes an account's balance: the account's change permission.
MOVE_MONEY = "accounts.change_account"


class GrantForm(forms.Form):
    account = forms.ModelChoiceField(queryset=Account.objects.select_related("user"))
    amount = forms.IntegerField(help_text="Credits to add (negative to take back; the balance cannot go below 0).")
    reason = forms.CharField(max_length=255)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the product only (the ledger is append-only; Stripe rows mirror Stripe)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """Credits change through "Grant credits" (the only admin path, calling ledger.grant)."""

    list_display = ["created_at", "account", "kind", "amount", "balance_after", "reason", "reference_kind",
                    "reference_id", "created_by"]
    list_filter = ["kind", "reference_kind"]
    search_fields = ["account__user__email", "reference_id", "reason"]
    list_select_related = ["account__user", "created_by"]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {"can_grant": request.user.has_perm(MOVE_MONEY), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def get_urls(self) -> list[URLPattern]:
        grant = path("grant/", self.admin_site.admin_view(self.grant_view), name="billing_ledgerentry_grant")
        return [grant, *super().get_urls()]

    def grant_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(MOVE_MONEY):
            raise PermissionDenied("granting credits needs the permission to change accounts")
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


@admin.register(CreditPack)
class CreditPackAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "credits", "price_cents", "active", "stripe_price_id"]
    list_filter = ["active"]
    readonly_fields = ["stripe_product_id", "stripe_price_id"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdmin):
    list_display = ["customer_id", "account", "created_at"]
    search_fields = ["customer_id", "account__user__email"]


@admin.register(Checkout)
class CheckoutAdmin(ReadOnlyAdmin):
    list_display = ["session_id", "account", "pack", "plan", "credits", "amount_cents", "status", "created_at",
                    "completed_at"]
    list_filter = ["status"]
    search_fields = ["session_id", "account__user__email"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["stripe_id", "account", "amount_cents", "currency", "credits", "credits_taken_back", "created_at"]
    search_fields = ["stripe_id", "payment_intent", "charge", "account__user__email"]


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["subscription_id", "account", "plan", "status", "current_period_end", "last_event_at"]
    list_filter = ["status", "plan"]
    search_fields = ["subscription_id", "account__user__email"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "created", "received_at", "outcome"]
    list_filter = ["type"]
    search_fields = ["event_id", "outcome"]


@admin.register(CreditShortfall)
class CreditShortfallAdmin(GuardedActionsMixin, ReadOnlyAdmin):
    """Accounts a refund left short: shown until an operator settles them with the customer."""

    list_display = ["account", "credits", "reason", "created_at", "resolved_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["account__user__email"]
    actions = ["mark_resolved"]

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(MOVE_MONEY)

    @admin.action(description="Mark as settled with the customer", permissions=["resolve"])
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[CreditShortfall]) -> None:
        done = queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
        self.message_user(request, f"Marked {done} shortfall(s) settled.")
