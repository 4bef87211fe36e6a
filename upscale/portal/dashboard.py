"""The dashboard: balance, plan, today's quota and the last 30 days at a glance."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.customer import customer_view
from accounts.models import Account

from ..quota import quota_state
from . import charts, usage

DAYS = 30


@require_GET
@customer_view
def dashboard(request: HttpRequest, account: Account) -> HttpResponse:
    days = usage.daily_usage(account, DAYS)
    dates = [day.day for day in days]
    quota = quota_state(account)
    return render(request, "upscale/portal/dashboard.html", {
        "account": account,
        "quota": quota,
        "quota_percent": min(100, round(100 * quota.used / quota.limit)) if quota.limit else 100,
        "requests_chart": charts.stacked_bars(
            dates, [("delivered", [d.delivered for d in days]), ("failed", [d.failed for d in days])], "requests"
        ),
        "credits_chart": charts.stacked_bars(dates, [("credits", [d.credits for d in days])], "credits"),
        "recent": account.upscale_requests.all()[:5],
        "active_keys": account.api_keys.active().count(),
        "price": settings.ARTNEX_PRICE_CREDITS,
        "upscales_left": account.credits // settings.ARTNEX_PRICE_CREDITS,
    })
