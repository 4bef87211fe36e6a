"""`manage.py upscale` runs the workers' engine on files."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from tests.engine.helpers import IMAGES_DIR, crop


@pytest.fixture(autouse=True)
def engine_env(monkeypatch: pytest.MonkeyPatch, model_dir: Path) -> None:
    monkeypatch.setenv("ARTNEX_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("ARTNEX_ALLOW_MODEL_DOWNLOAD", "0")


def test_upscale_command_writes_the_extension_format(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    crop("rocket.jpg", (300, 100, 364, 148)).save(src)
    dst = tmp_path / "out.webp"
    call_command("upscale", str(src), str(dst), "--scale", "2.5", "--model", "realesr-animevideov3",
                 "--tile", "32")
    with Image.open(dst) as out:
        assert out.format == "WEBP"
        assert out.size == (160, 120)


def test_upscale_command_reports_engine_errors(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="unknown model"):
        call_command("upscale", str(IMAGES_DIR / "chelsea.png"), str(tmp_path / "o.png"), "--model", "nope")
    with pytest.raises(CommandError, match="extension"):
        call_command("upscale", str(IMAGES_DIR / "chelsea.png"), str(tmp_path / "o.gif"))


def test_format_option_overrides_the_extension(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    crop("chelsea_alpha.png", (0, 0, 48, 32)).save(src)
    dst = tmp_path / "out.png"
    call_command("upscale", str(src), str(dst), "--scale", "2", "--model", "realesr-animevideov3", "--format", "jpeg")
    with Image.open(dst) as out:
        assert out.format == "JPEG" and out.mode == "RGB"  # alpha flattened on white
    with pytest.raises(CommandError):
        call_command("upscale", str(src), str(dst), "--format", "gif")
