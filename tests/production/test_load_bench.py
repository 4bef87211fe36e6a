"""bench/load.py at a tiny size: the production stack (web, two upscale workers, housekeeping,
beat; PostgreSQL, a Redis broker and cache of its own) under two clients while a worker's pool
process is killed mid-job, the web's gunicorn worker is killed under a waiting client, the broker
is restarted and the cache is restarted. The run's own audit must pass, and the summary must show
that the faults really happened.

No timing thresholds: the figures are printed, never asserted. Integration tier: it needs
PostgreSQL (and redis-server installed, for the stack's own broker and cache).
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from tests.integration import needs_services, unavailable
from tests.production.load_run import run_load_bench

pytestmark = [pytest.mark.integration, needs_services]


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed (the stack runs a broker and a cache of its own)",
                    "install it to run this test")
    return run_load_bench(tmp_path_factory, ["pool-kill", "web-kill", "broker-restart", "cache-restart"])


def test_the_audit_passes(summary: dict[str, Any]) -> None:
    failed = [check for check in summary["audit"] if not check["ok"]]
    assert not failed, json.dumps(failed, indent=1)
    assert summary["ok"] is True
    assert summary["requests"] >= 10 and summary["results"] > 0


def test_the_pool_kill_hit_a_running_job_which_was_redelivered_and_delivered(summary: dict[str, Any]) -> None:
    (fault,) = [fault for fault in summary["faults"] if fault["name"] == "pool-kill"]
    assert fault["error"] == "" and fault["mid_job"] is True, fault
    # Celery rejected the lost job back onto the queue; a worker took it over, and the victim's
    # client, still waiting, got its result: charged once (the audit's ledger checks).
    assert fault["redelivered_to"], fault
    final = fault["victim"][-1]
    assert (final["status"], final["delivered"]) == (200, True), fault
    assert any("SIGKILL" in what for _, what in fault["events"]), fault


def test_the_web_kill_cut_off_a_waiting_client_whose_retry_got_its_result(summary: dict[str, Any]) -> None:
    (fault,) = [fault for fault in summary["faults"] if fault["name"] == "web-kill"]
    assert fault["error"] == "" and fault["mid_job"] is True, fault
    assert any("started a new worker" in what for _, what in fault["events"]), fault
    # The connection died with the process; the retry with the same Idempotency-Key answered
    # the first try's upscale, charged once (the audit's ledger checks), instead of a 409.
    first, *_, last = fault["victim"]
    assert (first["status"], first["key"]) == (0, last["key"]), fault
    assert (last["status"], last["delivered"]) == (200, True) and last["request_id"], fault


def test_the_broker_restarted_and_every_consumer_reconnected(summary: dict[str, Any]) -> None:
    (fault,) = [fault for fault in summary["faults"] if fault["name"] == "broker-restart"]
    assert fault["error"] == "", fault
    reconnected = {what.split()[0] for _, what in fault["events"] if what.endswith(" reconnected")}
    assert reconnected == {"worker1", "worker2", "housekeeping"}, fault


def test_what_the_restarts_refused_was_a_documented_503_during_them(summary: dict[str, Any]) -> None:
    """Refunded (the audit's ledger checks) and retried by the client with its Idempotency-Key."""
    (cache,) = [fault for fault in summary["faults"] if fault["name"] == "cache-restart"]
    assert cache["error"] == "" and cache["recovered"] > cache["started"] > 0, cache
    for five in summary["five_hundreds"]:
        assert (five["status"], five["code"]) == (503, "service_unavailable"), five
        assert five["fault"] in {"broker-restart", "cache-restart"}, five
