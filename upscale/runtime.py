"""The bridge to the engine, shared by the worker, the API and the CLI."""

from __future__ import annotations

from .engine import EngineConfig, default_config, resolve_model_name


def engine_config() -> EngineConfig:
    # The engine is importable without Django, so it reads the environment itself; one
    # config object per process keeps its model cache keyed consistently.
    return default_config()


def default_model() -> str:
    return resolve_model_name(None, engine_config())
