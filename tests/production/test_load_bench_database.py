"""bench/load.py's postgres-restart at a tiny size: the stack on a PostgreSQL server of its own,
stopped (fast shutdown) under two clients and started again. Requests during the outage get
the contract's 503 and no credit is lost (the run's audit); web and workers recover by
themselves. Apart from tests/production/test_load_bench.py because it needs root: the private
server runs as the ``postgres`` user, through runuser.

No timing thresholds: the figures are printed, never asserted. Integration tier.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.integration import needs_services, unavailable
from tests.production.load_run import run_load_bench

pytestmark = [pytest.mark.integration, needs_services]


def _missing() -> str:
    if shutil.which("redis-server") is None:
        return "redis-server is not installed"
    if not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")):
        return "no PostgreSQL server binaries under /usr/lib/postgresql"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "the private PostgreSQL server is started as the postgres user: run as root"
    return ""


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if missing := _missing():
        unavailable(missing, "see docs/reliability.md, How to run")
    return run_load_bench(tmp_path_factory, ["postgres-restart"])


def test_the_audit_passes(summary: dict[str, Any]) -> None:
    failed = [check for check in summary["audit"] if not check["ok"]]
    assert not failed, json.dumps(failed, indent=1)
    assert summary["results"] > 0


def test_the_database_restarted_and_the_web_answered_again(summary: dict[str, Any]) -> None:
    (fault,) = summary["faults"]
    assert fault["name"] == "postgres-restart" and fault["error"] == "", fault
    assert fault["recovered"] > fault["started"] > 0, fault
    assert any("answers /readyz again" in what for _, what in fault["events"]), fault


def test_what_the_outage_refused_was_a_documented_503(summary: dict[str, Any]) -> None:
    for five in summary["five_hundreds"]:
        assert (five["status"], five["code"], five["fault"]) == (503, "service_unavailable", "postgres-restart"), five
