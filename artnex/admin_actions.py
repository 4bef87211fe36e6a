"""Admin actions that need more than the right to look.

Django hides an action whose ``permissions`` the user lacks, but a hand-made POST naming it
is only answered "no action selected". Actions that move money or revoke keys answer 403
instead, so a view-only staff member gets a clear refusal and nothing happens.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


class GuardedActionsMixin(admin.ModelAdmin):
    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        name = request.POST.get("action", "") if request.method == "POST" else ""
        if name and name in (self.actions or []) and name not in self.get_actions(request):
            raise PermissionDenied(f"the {name!r} action needs the change permission")
        return super().changelist_view(request, extra_context)
