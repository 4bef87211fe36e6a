"""Migration 0002 turns the ledger's request_id into a generic (kind, id) reference."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("billing", "0001_initial"), ("accounts", "0002_seed_plans")]
AFTER = [("billing", "0002_ledger_reference")]


def migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_request_ids_become_upscale_request_references() -> None:
    old = migrate(BEFORE)
    user = old.get_model("auth", "User").objects.create(username="old@example.com", email="old@example.com")
    plan = old.get_model("accounts", "Plan").objects.get(slug="free")
    account = old.get_model("accounts", "Account").objects.create(user=user, plan=plan, credits=1_000)
    entry = old.get_model("billing", "LedgerEntry")
    entry.objects.create(account=account, kind="grant", amount=1_100, balance_after=1_100, reason="sign-up")
    entry.objects.create(account=account, kind="charge", amount=-100, balance_after=1_000, request_id="req_ups_old")
    entry.objects.create(account=account, kind="refund", amount=100, balance_after=1_100, request_id="req_ups_old")
    try:
        new = migrate(AFTER)
        rows = {r.kind: r for r in new.get_model("billing", "LedgerEntry").objects.all()}
        assert (rows["charge"].reference_kind, rows["charge"].reference_id) == ("upscale_request", "req_ups_old")
        assert (rows["refund"].reference_kind, rows["refund"].reference_id) == ("upscale_request", "req_ups_old")
        assert (rows["grant"].reference_kind, rows["grant"].reference_id) == ("admin_grant", "")
    finally:
        migrate([("billing", "0004_seed_credit_packs"), ("accounts", "0003_plan_billing_fields")])
