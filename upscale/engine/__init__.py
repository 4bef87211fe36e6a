"""Artnex super-resolution engine: Real-ESRGAN through spandrel, tiled, any image kind.

Importable without Django; the worker, `manage.py upscale` and bench/ all call upscale_bytes.
"""

from .config import EngineConfig
from .errors import EngineError, ModelUnavailable, UnsupportedImage
from .pipeline import (
    UpscaleResult,
    default_config,
    list_models,
    resolve_model_name,
    upscale_bytes,
    upscale_image,
    warm_up,
)

__all__ = [
    "EngineConfig",
    "EngineError",
    "ModelUnavailable",
    "UnsupportedImage",
    "UpscaleResult",
    "default_config",
    "list_models",
    "resolve_model_name",
    "upscale_bytes",
    "upscale_image",
    "warm_up",
]
