"""The light half of the engine's interface: model names, sizes, configuration.

No torch here, so the web process can validate requests and quote output sizes without
paying for the import of PyTorch (seconds per process) that only workers need.
"""

from __future__ import annotations

import math
import threading

from .config import EngineConfig
from .registry import all_specs, lookup

# The scale range, default and image formats of the whole product: Django settings, the API's
# validation and messages, the CLI and the docs' schema all read them from here.
MIN_SCALE, MAX_SCALE = 1.0, 4.0
DEFAULT_SCALE = 2.0
# Format name (as Pillow says it): its media type and file extension.
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}

_default_config: EngineConfig | None = None
_default_lock = threading.Lock()


def default_config() -> EngineConfig:
    global _default_config
    with _default_lock:
        if _default_config is None:
            _default_config = EngineConfig.from_env()
        return _default_config


def list_models(config: EngineConfig | None = None) -> list[dict[str, object]]:
    config = config or default_config()
    return [spec.as_dict() for spec in all_specs(config.extra_models).values()]


def resolve_model_name(name: str | None, config: EngineConfig | None = None) -> str:
    config = config or default_config()
    return lookup(name or config.default_model, config.extra_models).name


def target_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """The contract's round(w*scale) x round(h*scale), halves rounded up (22.5 -> 23) as
    customers expect, not Python's round-half-to-even. The API quotes sizes from this too."""
    return max(1, math.floor(width * scale + 0.5)), max(1, math.floor(height * scale + 0.5))
