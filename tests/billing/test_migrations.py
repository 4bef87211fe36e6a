"""Migration 0002 turns the ledger's request_id into a generic (kind, id) reference."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("billing", "0001_initial"), ("accounts", "0002_seed_plans")]
AFTER = [("billing", "0002_ledger_reference")]


def latest() -> list[tuple[str, str]]:
    """Every app's newest migration (whichever branch added it)."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_schema() -> Iterator[Any]:
    """The apps as they were before 0002; the database goes forward again whatever happens."""
    try:
        yield migrate(BEFORE)
    finally:
        migrate(latest())


def test_request_ids_become_upscale_request_references(old_schema: Any) -> None:
    user = old_schema.get_model("auth", "User").objects.create(username="old@example.com", email="old@example.com")
    # Earlier transactional tests may have flushed the seeded plans.
    plan, _ = old_schema.get_model("accounts", "Plan").objects.get_or_create(slug="free", defaults={
        "name": "Free", "daily_quota": 50})
    account = old_schema.get_model("accounts", "Account").objects.create(user=user, plan=plan, credits=1_000)
    entry = old_schema.get_model("billing", "LedgerEntry")
    entry.objects.create(account=account, kind="grant", amount=1_100, balance_after=1_100, reason="sign-up")
    entry.objects.create(account=account, kind="charge", amount=-100, balance_after=1_000, request_id="req_ups_old")
    entry.objects.create(account=account, kind="refund", amount=100, balance_after=1_100, request_id="req_ups_old")
    new = migrate(AFTER)
    rows = {r.kind: r for r in new.get_model("billing", "LedgerEntry").objects.all()}
    assert (rows["charge"].reference_kind, rows["charge"].reference_id) == ("upscale_request", "req_ups_old")
    assert (rows["refund"].reference_kind, rows["refund"].reference_id) == ("upscale_request", "req_ups_old")
    assert rows["charge"].request_id == "req_ups_old"  # still there, now derived from the reference
    assert (rows["grant"].reference_kind, rows["grant"].reference_id, rows["grant"].request_id) == (
        "admin_grant", "", "")
