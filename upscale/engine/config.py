"""Engine configuration, readable from the environment without Django."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import EngineError
from .registry import DEFAULT_MODEL

REPO_ROOT = Path(__file__).resolve().parents[2]
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# How a varying alpha channel is upscaled: through the network as a gray image (what the
# reference does; doubles the network's work) or with Lanczos (cheap, slightly softer edges).
ALPHA_MODES = ("network", "lanczos")


@dataclass
class EngineConfig:
    model_dir: Path = field(default_factory=lambda: REPO_ROOT / "var" / "models")
    default_model: str = DEFAULT_MODEL
    device: str = "auto"
    precision: str = "auto"
    tile: int | None = None
    allow_download: bool = True
    extra_models: dict[str, Any] | list[dict[str, Any]] = field(default_factory=dict)
    # None: every CPU this process may run on (cgroup/affinity aware).
    threads: int | None = None
    keep_gps: bool = False
    alpha: str = "network"

    def __post_init__(self) -> None:
        self.model_dir = Path(self.model_dir).expanduser()
        if self.device not in DEVICES:
            raise EngineError(f"device must be one of {DEVICES}, not {self.device!r}")
        if self.precision not in PRECISIONS:
            raise EngineError(f"precision must be one of {PRECISIONS}, not {self.precision!r}")
        if self.alpha not in ALPHA_MODES:
            raise EngineError(f"alpha must be one of {ALPHA_MODES}, not {self.alpha!r}")
        if self.tile is not None and self.tile < 16:
            raise EngineError("tile must be at least 16 pixels")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EngineConfig:
        env = os.environ if environ is None else environ
        model_dir = env.get("ARTNEX_MODEL_DIR") or str(REPO_ROOT / "var" / "models")
        path = Path(model_dir).expanduser()
        if not path.is_absolute():
            # Relative paths are relative to the repo root, so "../shared/models" works anywhere.
            path = (REPO_ROOT / path).resolve()
        return cls(
            model_dir=path,
            default_model=env.get("ARTNEX_DEFAULT_MODEL") or DEFAULT_MODEL,
            device=(env.get("ARTNEX_DEVICE") or "auto").lower(),
            precision=(env.get("ARTNEX_PRECISION") or "auto").lower(),
            tile=_int_or_none(env, "ARTNEX_TILE"),
            allow_download=_bool(env, "ARTNEX_ALLOW_MODEL_DOWNLOAD", True),
            extra_models=_json(env, "ARTNEX_EXTRA_MODELS"),
            threads=_int_or_none(env, "ARTNEX_THREADS"),
            keep_gps=_bool(env, "ARTNEX_KEEP_GPS", False),
            alpha=(env.get("ARTNEX_ALPHA") or "network").strip().lower(),
        )


def _int_or_none(env: Mapping[str, str], key: str) -> int | None:
    raw = (env.get(key) or "").strip().lower()
    if raw in ("", "auto", "none", "0"):
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise EngineError(f"{key} must be an integer or 'auto', not {raw!r}") from exc


def _bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = (env.get(key) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise EngineError(f"{key} must be a boolean, not {raw!r}")


def _json(env: Mapping[str, str], key: str) -> dict[str, Any] | list[dict[str, Any]]:
    raw = (env.get(key) or "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise EngineError(f"{key} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict | list):
        raise EngineError(f"{key} must be a JSON object or list")
    return value
