"""Artnex super-resolution engine: Real-ESRGAN through spandrel, tiled, any image kind.

Importable without Django; the worker, `manage.py upscale` and bench/ all call upscale_bytes.
The functions that need PyTorch are imported on first use, so that importing the package
(as the web process does, for model names and output sizes) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from .catalog import (
    DEFAULT_SCALE,
    FORMATS,
    MAX_SCALE,
    MIN_SCALE,
    default_config,
    list_models,
    resolve_model_name,
    target_size,
)
from .config import EngineConfig
from .errors import EngineError, ModelUnavailable, UnsupportedImage

_HEAVY = {"UpscaleResult", "upscale_bytes", "upscale_image", "warm_up"}

__all__ = [
    "DEFAULT_SCALE",
    "FORMATS",
    "MAX_SCALE",
    "MIN_SCALE",
    "EngineConfig",
    "EngineError",
    "ModelUnavailable",
    "UnsupportedImage",
    "UpscaleResult",
    "default_config",
    "list_models",
    "resolve_model_name",
    "target_size",
    "upscale_bytes",
    "upscale_image",
    "warm_up",
]


def __getattr__(name: str) -> Any:
    if name in _HEAVY:
        return getattr(importlib.import_module(".pipeline", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
