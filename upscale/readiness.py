"""The model weights check of ``/readyz``: a worker cannot upscale without them."""

from __future__ import annotations

from .engine.registry import lookup
from .runtime import engine_config


def model_weights() -> str:
    config = engine_config()
    spec = lookup(config.default_model, config.extra_models)
    path = config.model_dir / spec.file
    if path.is_file():
        return f"{spec.name}: {path}"
    if config.allow_download and spec.url:
        return f"{spec.name}: not on disk yet, downloaded on first use"
    raise FileNotFoundError(f"{spec.name}: {path} is missing and downloads are disabled")
