"""One loaded model per (model, device, precision) and process, shared safely across threads."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from tests.engine.helpers import expected_cpu_auto
from upscale.engine import EngineConfig, ModelUnavailable, loader, warm_up
from upscale.engine.registry import lookup


def test_model_is_loaded_once_and_cached(config: EngineConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    loader.clear_cache()
    calls = []
    real = loader._load

    def counting(*args: object) -> loader.LoadedModel:
        calls.append(args)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "_load", counting)
    spec = lookup("realesr-animevideov3")
    got: list[loader.LoadedModel] = []
    threads = [threading.Thread(target=lambda: got.append(loader.get_model(spec, config))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len({id(m) for m in got}) == 1
    assert loader.get_model(spec, replace(config, precision="bf16")) is not got[0]
    assert len(calls) == 2


def test_warm_up_loads_before_the_first_request(config: EngineConfig) -> None:
    loader.clear_cache()
    warm_up(config, "realesr-general-x4v3")
    assert any(key[0] == "realesr-general-x4v3" for key in loader._cache)


def test_cpu_auto_precision_follows_policy_and_start_up_timing(config: EngineConfig) -> None:
    spec = lookup("realesr-animevideov3")
    model = loader.get_model(spec, replace(config, device="cpu"))
    expected, why = expected_cpu_auto(spec.arch)
    assert model.placement.precision == expected, why


def test_missing_model_offline_names_file_and_folder(config: EngineConfig, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable) as err:
        warm_up(replace(config, model_dir=tmp_path, allow_download=False), "realesrgan-x4plus")
    assert "RealESRGAN_x4plus.pth" in str(err.value) and str(tmp_path) in str(err.value)
