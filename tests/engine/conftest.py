"""Engine fixtures: the real weights and sample photos from ../shared, small crops of them."""

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


@pytest.fixture(scope="session")
def model_dir() -> Path:
    if not (MODEL_DIR / "realesr-animevideov3.pth").is_file():
        pytest.fail(f"real weights not found in {MODEL_DIR} (set ARTNEX_MODEL_DIR)")
    return MODEL_DIR


@pytest.fixture(scope="session")
def config(model_dir: Path) -> EngineConfig:
    # No downloads in tests: a missing file must fail loudly, not reach for the network.
    return EngineConfig(model_dir=model_dir, allow_download=False, default_model=SMALL_MODEL)
