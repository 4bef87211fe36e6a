from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import UpscaleRequest


@admin.register(UpscaleRequest)
class UpscaleRequestAdmin(admin.ModelAdmin):
    list_display = ["request_id", "account", "status", "scale", "model", "input_width", "input_height",
                    "output_width", "output_height", "credits_charged", "error_code", "created_at"]
    list_filter = ["status", "model", "error_code"]
    search_fields = ["request_id", "account__user__email"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: UpscaleRequest | None = None) -> bool:
        return False

from .webhooks import admin as _webhook_admin  # noqa: E402, F401 - registers the webhook deliveries
