"""The dashboard: balance, plan, today's quota, the 30-day charts, empty states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.portal import login, make_request
from upscale.models import UpscaleRequest
from upscale.portal import charts, usage

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def test_anonymous_visitors_are_sent_to_login(client) -> None:
    response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_new_customer_sees_balance_plan_and_empty_state(client, make_customer) -> None:
    customer = make_customer(credits=1234, plan="pro")
    response = login(client, customer.account).get(reverse("portal:dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "1,234" in html and "Pro" in html
    assert "0 <span class=\"stat-of\">/ 2,000</span>" in html
    assert "No upscales yet" in html
    assert f'href="{reverse("billing:buy")}"' in html  # buying credits and changing plan start here
    assert "<svg" in html and 'role="img"' in html  # the charts are pictures even when empty


def test_today_counts_against_the_daily_quota(client, make_customer) -> None:
    customer = make_customer(daily_quota=10)
    with time_machine.travel(NOW, tick=False):
        for _ in range(3):
            make_request(customer.account)
        make_request(customer.account, status=UpscaleRequest.Status.FAILED, credits_charged=0)  # not counted
        response = login(client, customer.account).get(reverse("portal:dashboard"))
    assert response.context["quota"].used == 3
    assert response.context["quota"].limit == 10
    assert response.context["quota_percent"] == 30
    assert "No upscales yet" not in response.content.decode()


def test_daily_usage_fills_30_utc_days(make_customer) -> None:
    account = make_customer().account
    with time_machine.travel(NOW, tick=False):
        make_request(account)
        make_request(account, status=UpscaleRequest.Status.FAILED, credits_charged=0)
        old = make_request(account)
        UpscaleRequest.objects.filter(pk=old.pk).update(created_at=NOW - timedelta(days=3))
        too_old = make_request(account)
        UpscaleRequest.objects.filter(pk=too_old.pk).update(created_at=NOW - timedelta(days=30))
        days = usage.daily_usage(account, 30)
    assert len(days) == 30
    assert days[-1].day == NOW.date() and days[0].day == NOW.date() - timedelta(days=29)
    assert (days[-1].delivered, days[-1].failed, days[-1].credits) == (1, 1, 100)
    assert (days[-4].requests, days[-4].credits) == (1, 100)
    assert sum(day.requests for day in days) == 3  # the 31st day back is outside the window


def test_only_the_customers_own_usage_is_counted(client, make_customer) -> None:
    alice, bob = make_customer(), make_customer()
    make_request(bob.account)
    response = login(client, alice.account).get(reverse("portal:dashboard"))
    assert response.context["quota"].used == 0
    assert response.context["requests_chart"].total == 0
    assert list(response.context["recent"]) == []


def test_chart_geometry() -> None:
    days = [NOW.date() - timedelta(days=i) for i in range(3)][::-1]
    chart = charts.stacked_bars(days, [("delivered", [0, 3, 7]), ("failed", [0, 1, 0])], "requests")
    assert chart.total == 11
    assert [tick.label for tick in chart.ticks] == ["0", "5", "10"]  # a round top above the tallest bar
    assert chart.bars[0].segments == []
    tallest = chart.bars[2].segments[0]
    assert tallest.y + tallest.height == chart.baseline
    assert tallest.height == pytest.approx(0.7 * (chart.baseline - 10))
    assert "4 requests" in chart.bars[1].label and "1 failed" in chart.bars[1].label
    assert chart.x_labels[-1].label == f"Nov {NOW.day}"


@pytest.mark.parametrize(("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (12, 20), (800, 1000)])
def test_nice_ceiling(value: int, ceiling: int) -> None:
    assert charts.nice_ceiling(value) == ceiling
