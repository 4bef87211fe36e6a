"""Run bench/load.py at a tiny size and read its summary: what the load bench tests share."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.devstack.processes import REPO

# A guard against a hang, not a measurement: a tiny run takes 20-60 s.
_HANG_GUARD_S = 600


def run_load_bench(tmp_path_factory: pytest.TempPathFactory, faults: list[str]) -> dict[str, Any]:
    """Two clients, ten requests, the given faults; the summary, whose exit status must match its audit."""
    folder = tmp_path_factory.mktemp("load")
    done = subprocess.run(
        [sys.executable, "bench/load.py", "--clients", "2", "--requests", "10", "--faults", *faults,
         "--task-time-limit", "10", "--out", str(folder / "run"), "--json", str(folder / "summary.json")],
        cwd=REPO, capture_output=True, text=True, timeout=_HANG_GUARD_S, check=False,
    )
    print(done.stdout[-6000:])  # the figures, for whoever reads the test's output
    assert (folder / "summary.json").exists(), f"no summary (exit {done.returncode}):\n{done.stderr[-6000:]}"
    result: dict[str, Any] = json.loads((folder / "summary.json").read_text())
    assert done.returncode == (0 if result["ok"] else 1), done.stderr[-3000:]
    return result
