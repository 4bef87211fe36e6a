"""Django admin for customers, plans and API keys."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from billing import ledger

from . import keys
from .models import Account, ApiKey, ApiKeyQuerySet, Plan


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "daily_quota", "monthly_price_cents", "is_default"]
    prepopulated_fields = {"slug": ["name"]}


_API_KEY_FIELDS = ("name", "prefix", "created_at", "last_used_at", "revoked_at")


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    can_delete = False
    fields = _API_KEY_FIELDS
    readonly_fields = _API_KEY_FIELDS


class GrantCreditsForm(forms.Form):
    amount = forms.IntegerField(help_text="Credits to add (negative to take back).")
    reason = forms.CharField(max_length=255)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["__str__", "plan", "credits", "daily_quota", "created_at"]
    list_filter = ["plan"]
    search_fields = ["user__email", "user__username"]
    readonly_fields = ["credits", "created_at"]
    autocomplete_fields = ["user"]
    inlines = [ApiKeyInline]
    actions = ["grant_credits"]

    @admin.action(description="Grant credits (writes a ledger row)")
    def grant_credits(self, request: HttpRequest, queryset: QuerySet[Account]) -> HttpResponse | None:
        form = GrantCreditsForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            done = 0
            for account in queryset:
                try:
                    ledger.grant(account.pk, form.cleaned_data["amount"], form.cleaned_data["reason"],
                                 created_by=cast(User, request.user))  # admin actions need a staff login
                    done += 1
                except (ledger.InsufficientCredits, ValueError) as exc:
                    self.message_user(request, f"{account}: {exc}", messages.ERROR)
            self.message_user(request, f"Granted {form.cleaned_data['amount']} credits to {done} account(s).")
            return None
        context = {
            **self.admin_site.each_context(request), "title": "Grant credits", "form": form,
            "accounts": queryset, "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/accounts/grant_credits.html", context)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "account", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "account__user__email"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_keys"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are created by create_customer or the customer; the plain key is shown once

    @admin.action(description="Revoke selected keys")
    def revoke_keys(self, request: HttpRequest, queryset: ApiKeyQuerySet) -> None:
        for api_key in queryset.active():
            keys.revoke(api_key)
        self.message_user(request, "Revoked the selected keys.")
