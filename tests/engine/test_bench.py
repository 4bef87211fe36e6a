"""The benchmarks run (tiny, on the CPU), so that they work on the first GPU host they meet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.engine.conftest import REPO_ROOT


def test_gpu_bench_runs_tiny_on_the_cpu(tmp_path: Path, model_dir: Path) -> None:
    out = tmp_path / "gpu.json"
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "gpu.py"), "--device", "cpu", "--model", "realesr-animevideov3",
         "--windows", "32", "--batches", "1", "2", "--repeats", "1", "--e2e-size", "16", "--model-dir", str(model_dir),
         "--json", str(out)],
        capture_output=True, text=True, timeout=600, cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["tf32"] == {"cudnn.allow_tf32": True, "cuda.matmul.allow_tf32": False,
                              "float32_matmul_precision": "highest"}  # printed, never changed
    rows = result["rows"]
    # precision {fp32, bf16} x channels_last {off, on} x batch {1, 2} x window {32}
    assert {(r["precision"], r["channels_last"], r["batch"]) for r in rows} == {
        (p, cl, b) for p in ("fp32", "bf16") for cl in (False, True) for b in (1, 2)
    }
    for r in rows:
        assert r["ms_median"] > 0 and r["ms_p90"] >= r["ms_median"] and r["tflops"] > 0 and r["out_mp_per_s"] > 0
    fid = result["fidelity"]
    assert set(fid) == {"fp32", "fp32+CL", "bf16", "bf16+CL"}
    assert set(fid["fp32"]) == {"chelsea-fur", "rocket", "coffee"}
    assert fid["fp32"]["chelsea-fur"]["max_err"] == 0  # the same arithmetic as the reference
    assert all(c["off_gt2_pct"] <= 0.1 for cases in fid.values() for c in cases.values())
    for stages in result["end_to_end"].values():
        assert stages["network_ms"] > 0 and stages["decode_ms"] > 0 and stages["encode_ms"] > 0
        assert stages["total_ms"] >= stages["network_ms"]
    assert "| precision | CL | compile | graph |" in proc.stdout


def test_engine_bench_cli_comparison_runs(model_dir: Path) -> None:
    """`bench/engine.py --cli`: manage.py upscale against the plain script, one tiny pair."""
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "engine.py"), "--cli", "--pairs", "1", "--cli-size", "16",
         "--cli-model", "realesr-animevideov3"],
        capture_output=True, text=True, timeout=600, cwd=REPO_ROOT,
        env={**os.environ, "ARTNEX_MODEL_DIR": str(model_dir)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    cli = json.loads(proc.stdout.strip().splitlines()[-1])["cli"]
    assert cli["pairs"] == 1 and cli["ratio_median"] > 0
    assert cli["psnr_db_vs_plain"] > 45  # both processes computed the same picture
