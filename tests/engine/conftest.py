"""Engine fixtures: the real weights and sample photos from ../shared, small crops of them.

The run says what it exercised: the CPU kind, the precision `auto` chose per model (in the
header when tests/engine is named on the command line, and always in the terminal summary),
and each fidelity case's figures.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from upscale.engine import EngineConfig

REPO_ROOT = Path(__file__).resolve().parents[2]


def _model_dir() -> Path:
    raw = os.environ.get("ARTNEX_MODEL_DIR")
    path = Path(raw) if raw else REPO_ROOT.parent / "shared" / "models"
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


MODEL_DIR = _model_dir()
# The small SRVGG network: fast enough to run every image kind through the real engine.
SMALL_MODEL = "realesr-animevideov3"
# Lines the fidelity tests add; printed at the end of the run.
FIDELITY_LINES: list[str] = []


def precision_summary() -> list[str]:
    """The CPU kind and what `auto` picks for each shipped model on it (cheap: no weights)."""
    from upscale.engine import device
    from upscale.engine.registry import BUILTIN_MODELS

    kind = device.cpu_kind()
    lines = [f"artnex engine CPU: {kind.describe()}"]
    choices = []
    for spec in BUILTIN_MODELS:
        # Every shipped network supports half precision in spandrel, as the loader will see.
        chosen = device.resolve_precision("auto", "cpu", True, True, spec.arch)
        choices.append(f"{spec.name}={chosen}")
    conf = device.confirm_bf16() if kind.native_bf16 else None
    timing = f" (bf16 conv {conf.speedup:.1f}x fp32 at start-up)" if conf else ""
    lines.append("artnex engine auto precision on CPU: " + ", ".join(choices) + timing)
    return lines


def pytest_report_header(config: pytest.Config) -> list[str]:
    return precision_summary()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.section("artnex engine precision")
    for line in precision_summary() + FIDELITY_LINES:
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def model_dir() -> Path:
    if not (MODEL_DIR / "realesr-animevideov3.pth").is_file():
        pytest.fail(f"real weights not found in {MODEL_DIR} (set ARTNEX_MODEL_DIR)")
    return MODEL_DIR


@pytest.fixture(scope="session")
def config(model_dir: Path) -> EngineConfig:
    # No downloads in tests: a missing file must fail loudly, not reach for the network.
    return EngineConfig(model_dir=model_dir, allow_download=False, default_model=SMALL_MODEL)
