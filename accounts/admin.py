"""Django admin for customers, plans and API keys.

Money and onboarding actions (grant credits, add an account with its starting grant) are
added by billing's admin, which extends :class:`AccountAdmin`: accounts knows nothing of billing.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from artnex.admin_actions import GuardedActionsMixin

from . import keys
from .models import Account, ApiKey, ApiKeyQuerySet, Plan


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "daily_quota", "max_in_flight", "max_queued", "monthly_price_cents",
                    "monthly_credits", "is_default", "stripe_price_id"]
    readonly_fields = ["stripe_product_id", "stripe_price_id"]
    prepopulated_fields = {"slug": ["name"]}


_API_KEY_FIELDS = ("name", "prefix", "created_at", "last_used_at", "revoked_at")


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    can_delete = False
    fields = _API_KEY_FIELDS
    readonly_fields = _API_KEY_FIELDS


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["__str__", "plan", "credits", "daily_quota", "created_at"]
    list_filter = ["plan"]
    search_fields = ["user__email", "user__username"]
    readonly_fields = ["credits", "created_at"]
    autocomplete_fields = ["user"]
    inlines = [ApiKeyInline]


@admin.register(ApiKey)
class ApiKeyAdmin(GuardedActionsMixin, admin.ModelAdmin):
    list_display = ["prefix", "name", "account", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "account__user__email"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_keys"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are created by create_customer or the customer; the plain key is shown once

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: ApiKeyQuerySet) -> None:
        for api_key in queryset.active():
            keys.revoke(api_key)
        self.message_user(request, "Revoked the selected keys.")
