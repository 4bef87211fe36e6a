"""manage.py create_customer: the operator's way to onboard a customer."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts import keys
from accounts.models import Account
from billing import ledger
from billing.models import LedgerEntry

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_customer", *args, stdout=out)
    return out.getvalue()


def test_creates_customer_and_prints_key_last() -> None:
    output = run("dev@example.com", "--credits", "500", "--plan", "pro")
    key = output.strip().splitlines()[-1]
    api_key = keys.find_active_key(key)
    assert api_key is not None
    account = api_key.account
    assert (account.user.email, account.plan.slug, account.credits) == ("dev@example.com", "pro", 500)
    assert ledger.ledger_balance(account.pk) == 500
    assert key not in api_key.key_hash


def test_running_again_updates_and_adds_a_key() -> None:
    first = run("dev@example.com", "--credits", "500").strip().splitlines()[-1]
    second = run("DEV@example.com", "--credits", "200", "--daily-quota", "3").strip().splitlines()[-1]
    assert first != second
    account = Account.objects.get()
    assert (account.credits, account.daily_quota) == (200, 3)
    assert account.api_keys.count() == 2
    assert [e.amount for e in LedgerEntry.objects.order_by("id")] == [500, -300]


def test_default_plan_is_free() -> None:
    run("a@example.com")
    assert Account.objects.get().plan.slug == "free"


@pytest.mark.parametrize(
    "args", [("not-an-email",), ("a@example.com", "--plan", "gold"), ("a@example.com", "--credits", "-1")]
)
def test_bad_arguments(args) -> None:
    with pytest.raises(CommandError):
        run(*args)
    assert not Account.objects.exists()
