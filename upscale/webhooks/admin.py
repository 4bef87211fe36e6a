"""Webhook deliveries in the admin, read-only: support sees what the customer sees."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import WebhookAttempt, WebhookDelivery


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = readonly_fields = ("number", "started_at", "response_status", "error", "duration_ms")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["request", "account", "url", "status", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["request__request_id", "account__user__email", "url"]
    inlines = [WebhookAttemptInline]
    readonly_fields = ["request", "account", "url", "base_url", "payload", "status", "attempts", "next_attempt_at",
                       "delivered_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WebhookDelivery | None = None) -> bool:
        return False
