"""Django admin: credits are granted through the ledger's grant form; keys are revoked by an action."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from accounts import keys
from billing.models import LedgerEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_client):
    return admin_client


def test_account_page_links_to_the_one_grant_form(staff, customer) -> None:
    page = staff.get(f"/admin/accounts/account/{customer.account.pk}/change/")
    assert f"/admin/billing/ledgerentry/grant/?account={customer.account.pk}".encode() in page.content
    actions = staff.get("/admin/accounts/account/").context["action_form"].fields["action"].choices
    assert "grant_credits" not in [name for name, _ in actions]  # one grant path, not two


def test_ledger_is_read_only(staff, customer) -> None:
    entry = LedgerEntry.objects.first()
    assert staff.get(f"/admin/billing/ledgerentry/{entry.pk}/delete/").status_code == 403
    assert staff.get("/admin/billing/ledgerentry/add/").status_code == 403
    assert staff.get("/admin/billing/ledgerentry/").status_code == 200


def test_revoke_key_action(staff, customer) -> None:
    api_key = keys.find_active_key(customer.key)
    staff.post("/admin/accounts/apikey/", {"action": "revoke_keys", ACTION_CHECKBOX_NAME: [api_key.pk]})
    assert keys.find_active_key(customer.key) is None


@pytest.mark.parametrize("page", ["/admin/accounts/account/", "/admin/accounts/plan/", "/admin/accounts/apikey/",
                                  "/admin/upscale/upscalerequest/", "/admin/billing/ledgerentry/"])
def test_admin_pages_render(staff, customer, page) -> None:
    assert staff.get(page).status_code == 200


def test_grant_from_the_ledger_page(staff, customer, admin_user) -> None:
    page = staff.get("/admin/billing/ledgerentry/")
    assert b"/admin/billing/ledgerentry/grant/" in page.content
    url = "/admin/billing/ledgerentry/grant/"
    assert staff.get(url).status_code == 200
    refused = staff.post(url, {"account": customer.account.pk, "amount": "-5000", "reason": "oops"})
    assert refused.status_code == 200 and customer.refresh().credits == 1000  # cannot go below 0
    done = staff.post(url, {"account": customer.account.pk, "amount": "40", "reason": "goodwill"})
    assert done.status_code == 302
    entry = LedgerEntry.objects.latest("id")
    assert (entry.kind, entry.amount, entry.reason, entry.created_by) == ("grant", 40, "goodwill", admin_user)
    assert customer.refresh().credits == 1040


def test_grant_needs_staff(client, customer) -> None:
    response = client.post("/admin/billing/ledgerentry/grant/", {"account": customer.account.pk, "amount": "9",
                                                                 "reason": "x"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert customer.refresh().credits == 1000
