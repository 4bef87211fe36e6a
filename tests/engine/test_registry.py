"""The model registry and the engine configuration read from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from upscale.engine import EngineConfig, EngineError, list_models, resolve_model_name

OFFICIAL = {
    "realesrgan-x4plus": ("RealESRGAN_x4plus.pth", 4, "v0.1.0"),
    "realesrgan-x2plus": ("RealESRGAN_x2plus.pth", 2, "v0.2.1"),
    "realesrgan-x4plus-anime": ("RealESRGAN_x4plus_anime_6B.pth", 4, "v0.2.2.4"),
    "realesr-general-x4v3": ("realesr-general-x4v3.pth", 4, "v0.2.5.0"),
    "realesr-animevideov3": ("realesr-animevideov3.pth", 4, "v0.2.5.0"),
}


def test_registry_lists_the_official_models() -> None:
    models = {m["name"]: m for m in list_models(EngineConfig(model_dir=Path("/nowhere")))}
    assert set(OFFICIAL) <= set(models)
    for name, (file, scale, tag) in OFFICIAL.items():
        entry = models[name]
        assert entry["file"] == file
        assert entry["scale"] == scale
        assert entry["url"] == f"https://github.com/xinntao/Real-ESRGAN/releases/download/{tag}/{file}"
        assert len(str(entry["sha256"])) == 64


def test_x4plus_hash_is_the_official_one() -> None:
    models = {m["name"]: m for m in list_models(EngineConfig())}
    assert models["realesrgan-x4plus"]["sha256"] == (
        "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1"
    )


def test_resolve_model_name_defaults_and_aliases() -> None:
    config = EngineConfig(default_model="realesr-general-x4v3")
    assert resolve_model_name(None, config) == "realesr-general-x4v3"
    assert resolve_model_name("RealESRGAN-x4plus", config) == "realesrgan-x4plus"
    assert resolve_model_name("RealESRGAN_x4plus_anime_6B.pth", config) == "realesrgan-x4plus-anime"
    with pytest.raises(EngineError, match="unknown model"):
        resolve_model_name("no-such-model", config)


def test_extra_models_from_env() -> None:
    config = EngineConfig.from_env(
        {
            "ARTNEX_MODEL_DIR": "/srv/models",
            "ARTNEX_EXTRA_MODELS": '{"house-x4": {"file": "house.safetensors", "scale": 4}}',
            "ARTNEX_DEFAULT_MODEL": "house-x4",
        }
    )
    assert resolve_model_name(None, config) == "house-x4"
    entry = next(m for m in list_models(config) if m["name"] == "house-x4")
    assert entry["file"] == "house.safetensors"
    assert entry["arch"] == "auto"
    assert entry["url"] is None


def test_from_env_reads_every_setting() -> None:
    config = EngineConfig.from_env(
        {
            "ARTNEX_MODEL_DIR": "/srv/models",
            "ARTNEX_DEVICE": "cpu",
            "ARTNEX_PRECISION": "fp32",
            "ARTNEX_TILE": "256",
            "ARTNEX_ALLOW_MODEL_DOWNLOAD": "false",
            "ARTNEX_THREADS": "2",
        }
    )
    assert config.model_dir == Path("/srv/models")
    assert (config.device, config.precision, config.tile, config.threads) == ("cpu", "fp32", 256, 2)
    assert config.allow_download is False


def test_from_env_defaults() -> None:
    config = EngineConfig.from_env({})
    assert config.model_dir.name == "models"
    assert config.default_model == "realesrgan-x4plus"
    assert (config.device, config.precision, config.tile, config.allow_download) == ("auto", "auto", None, True)


def test_relative_model_dir_is_relative_to_the_repo() -> None:
    config = EngineConfig.from_env({"ARTNEX_MODEL_DIR": "../shared/models"})
    repo = Path(__file__).resolve().parents[2]
    assert config.model_dir == (repo / "../shared/models").resolve()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ARTNEX_DEVICE", "tpu"),
        ("ARTNEX_PRECISION", "int8"),
        ("ARTNEX_TILE", "big"),
        ("ARTNEX_ALLOW_MODEL_DOWNLOAD", "maybe"),
        ("ARTNEX_EXTRA_MODELS", "{not json"),
    ],
)
def test_bad_settings_fail_loudly(key: str, value: str) -> None:
    with pytest.raises(EngineError):
        EngineConfig.from_env({key: value})
