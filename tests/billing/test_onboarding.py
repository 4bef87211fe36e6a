"""billing.onboarding.open_account: every way in gets the same plan rules and a ledger grant."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from accounts.models import Plan
from accounts.plans import seed_plans
from billing import ledger
from billing.models import LedgerEntry
from billing.onboarding import SIGNUP_REASON, AccountExists, NoPlan, open_account

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def plans() -> None:
    seed_plans(Plan)


def test_new_account_gets_the_signup_grant_in_the_ledger(settings) -> None:
    settings.ARTNEX_SIGNUP_CREDITS = 300
    account = open_account("  New@Example.com ")
    assert (account.user.email, account.user.username, account.plan.slug) == ("new@example.com", "new@example.com",
                                                                             "free")
    assert account.credits == 300 == ledger.ledger_balance(account.pk)
    entry = LedgerEntry.objects.get(account=account)
    assert (entry.kind, entry.amount, entry.reason) == ("grant", 300, SIGNUP_REASON)
    assert not account.user.has_usable_password()


def test_explicit_credits_plan_quota_password_and_author(admin_user) -> None:
    pro = Plan.objects.get(slug="pro")
    account = open_account("a@example.com", password="s3cret-enough", credits=40, plan=pro, daily_quota=7,
                           created_by=admin_user)
    assert (account.credits, account.plan, account.daily_quota) == (40, pro, 7)
    assert account.user.check_password("s3cret-enough")
    assert LedgerEntry.objects.get(account=account).created_by == admin_user


def test_zero_credits_writes_no_ledger_row() -> None:
    account = open_account("a@example.com", credits=0)
    assert account.credits == 0 and not LedgerEntry.objects.exists()


def test_an_existing_user_without_account_gets_one() -> None:
    # allauth creates the user at sign-up; the account is opened for it afterwards.
    user = get_user_model().objects.create_user(username="someone", email="b@example.com")
    account = open_account("B@example.com", credits=10)
    assert account.user == user


def test_a_second_account_for_one_email_is_refused() -> None:
    open_account("a@example.com", credits=5)
    with pytest.raises(AccountExists):
        open_account("A@example.com", credits=5)
    assert LedgerEntry.objects.count() == 1


def test_refuses_negative_values_and_missing_plans() -> None:
    with pytest.raises(ValueError):
        open_account("a@example.com", credits=-1)
    Plan.objects.all().delete()
    with pytest.raises(NoPlan):
        open_account("a@example.com")
    assert not get_user_model().objects.exists()


def test_admin_add_account_opens_it_with_the_grant(admin_client, admin_user, settings) -> None:
    settings.ARTNEX_SIGNUP_CREDITS = 250
    assert admin_client.get("/admin/accounts/account/add/").status_code == 200
    plan = Plan.objects.get(slug="pro")
    response = admin_client.post("/admin/accounts/account/add/", {
        "email": "c@example.com", "plan": plan.pk, "daily_quota_override": "", "starting_credits": "",
    })
    assert response.status_code == 302
    user = get_user_model().objects.get(email="c@example.com")
    assert (user.account.plan, user.account.credits) == (plan, 250)
    entry = LedgerEntry.objects.get(account=user.account)
    assert (entry.reason, entry.created_by) == (SIGNUP_REASON, admin_user)
    again = admin_client.post("/admin/accounts/account/add/", {"email": "C@example.com", "plan": plan.pk})
    assert again.status_code == 200 and b"already has an account" in again.content


def test_admin_change_page_keeps_the_account_fields(admin_client) -> None:
    account = open_account("d@example.com", credits=1)
    page = admin_client.get(f"/admin/accounts/account/{account.pk}/change/")
    assert page.status_code == 200
    assert b"daily_quota_override" in page.content and b"starting_credits" not in page.content
