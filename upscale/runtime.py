"""The bridge to the engine, shared by the worker, the API and the CLI."""

from __future__ import annotations

from functools import cache

from .engine import EngineConfig, resolve_model_name


@cache
def engine_config() -> EngineConfig:
    # The engine is importable without Django, so it reads the environment itself;
    # one config object per process keeps the model cache keyed consistently.
    return EngineConfig.from_env()


def default_model() -> str:
    return resolve_model_name(None, engine_config())
