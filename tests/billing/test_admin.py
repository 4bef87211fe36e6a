"""Billing admin: money moves through one grant path, only for staff allowed to change
accounts; view-only staff are offered no such action and get 403 when they post one."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission, User
from django.test import Client

from accounts import keys
from billing import ledger
from billing.models import CreditShortfall, LedgerEntry

pytestmark = pytest.mark.django_db

GRANT = "/admin/billing/ledgerentry/grant/"
VIEW_PERMS = ["view_account", "view_apikey", "view_plan", "view_ledgerentry", "view_creditpack",
              "view_creditshortfall", "view_stripeevent", "view_stripecustomer", "view_subscription",
              "view_payment", "view_checkout"]


def staff_client(codenames: list[str]) -> tuple[Client, User]:
    user = User.objects.create_user("staff@example.com", "staff@example.com", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client, user


@pytest.fixture
def viewer() -> Client:
    return staff_client(VIEW_PERMS)[0]


def test_view_only_staff_cannot_grant(viewer: Client, customer) -> None:
    assert viewer.get("/admin/billing/ledgerentry/").status_code == 200
    assert GRANT.encode() not in viewer.get("/admin/billing/ledgerentry/").content
    assert viewer.get(GRANT).status_code == 403
    account_page = viewer.get(f"/admin/accounts/account/{customer.account.pk}/change/")
    assert account_page.status_code == 200 and GRANT.encode() not in account_page.content
    assert b"grant_credits" not in viewer.get("/admin/accounts/account/").content
    answer = viewer.post(GRANT, {"account": customer.account.pk, "amount": "1000000", "reason": "me"})
    assert answer.status_code == 403 and customer.refresh().credits == 1_000


def test_view_only_staff_cannot_revoke_keys(viewer: Client, customer) -> None:
    page = viewer.get("/admin/accounts/apikey/")
    assert page.status_code == 200 and b"revoke_keys" not in page.content
    api_key = keys.find_active_key(customer.key)
    answer = viewer.post("/admin/accounts/apikey/", {"action": "revoke_keys", ACTION_CHECKBOX_NAME: [api_key.pk]})
    assert answer.status_code == 403 and keys.find_active_key(customer.key) is not None


def test_view_only_staff_cannot_settle_shortfalls(viewer: Client, customer) -> None:
    shortfall = CreditShortfall.objects.create(account=customer.account, credits=10, reason="refund")
    assert b"mark_resolved" not in viewer.get("/admin/billing/creditshortfall/").content
    answer = viewer.post("/admin/billing/creditshortfall/", {"action": "mark_resolved",
                                                             ACTION_CHECKBOX_NAME: [shortfall.pk]})
    assert answer.status_code == 403
    shortfall.refresh_from_db()
    assert shortfall.resolved_at is None


def test_staff_with_change_permission_grants_through_the_ledger(customer) -> None:
    client, user = staff_client([*VIEW_PERMS, "change_account", "change_apikey"])
    assert GRANT.encode() in client.get("/admin/billing/ledgerentry/").content
    form = client.get(f"{GRANT}?account={customer.account.pk}")
    assert form.status_code == 200 and form.context["form"]["account"].value() == str(customer.account.pk)
    refused = client.post(GRANT, {"account": customer.account.pk, "amount": "-5000", "reason": "oops"})
    assert refused.status_code == 200 and customer.refresh().credits == 1_000  # never below 0
    done = client.post(GRANT, {"account": customer.account.pk, "amount": "250", "reason": "support gesture"})
    assert done.status_code == 302
    entry = LedgerEntry.objects.latest("id")
    assert (entry.kind, entry.amount, entry.reason, entry.created_by, entry.reference_kind) == (
        "grant", 250, "support gesture", user, "admin_grant")
    assert customer.refresh().credits == 1_250 == ledger.ledger_balance(customer.account.pk)
    api_key = keys.find_active_key(customer.key)
    client.post("/admin/accounts/apikey/", {"action": "revoke_keys", ACTION_CHECKBOX_NAME: [api_key.pk]})
    assert keys.find_active_key(customer.key) is None


def test_shortfall_is_visible_and_settled_by_an_operator(admin_client: Client, customer) -> None:
    shortfall = CreditShortfall.objects.create(account=customer.account, credits=4_800, reason="refund of cs_1")
    page = admin_client.get("/admin/billing/creditshortfall/?resolved_at__isempty=1")
    assert str(customer.account).encode() in page.content and b"4800" in page.content
    admin_client.post("/admin/billing/creditshortfall/", {"action": "mark_resolved",
                                                          ACTION_CHECKBOX_NAME: [shortfall.pk]})
    shortfall.refresh_from_db()
    assert shortfall.resolved_at is not None


@pytest.mark.parametrize("model", ["creditpack", "stripecustomer", "stripeevent", "subscription", "payment",
                                   "checkout", "creditshortfall", "ledgerentry"])
def test_billing_admin_pages_render(admin_client: Client, customer, model: str) -> None:
    assert admin_client.get(f"/admin/billing/{model}/").status_code == 200


@pytest.mark.parametrize("model", ["stripecustomer", "stripeevent", "subscription", "payment", "checkout",
                                   "ledgerentry"])
def test_stripe_rows_are_read_only(admin_client: Client, model: str) -> None:
    assert admin_client.get(f"/admin/billing/{model}/add/").status_code == 403


def test_plans_and_packs_are_editable(admin_client: Client) -> None:
    page = admin_client.get("/admin/accounts/plan/")
    assert b"monthly_credits" in page.content or b"Monthly credits" in page.content
    assert admin_client.get("/admin/billing/creditpack/add/").status_code == 200
