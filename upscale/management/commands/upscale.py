"""`manage.py upscale INPUT OUTPUT`: the workers' engine, run directly on a file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from upscale.engine import FORMATS, EngineConfig, EngineError, upscale_bytes

# The output format follows the file's extension: the engine's own table, plus .jpeg.
EXTENSIONS = {f".{extension}": name for name, (_, extension) in FORMATS.items()} | {".jpeg": "JPEG"}
# Below this many tiles a bar is noise; a large image gets one.
PROGRESS_MIN_TILES = 4


class Command(BaseCommand):
    help = "Upscale one image with the same engine the Celery workers run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("input", type=Path)
        parser.add_argument("output", type=Path, help="format follows the extension (.jpg, .png, .webp)")
        parser.add_argument("--format", choices=("jpeg", "png", "webp"), default=None,
                            help="output format regardless of the extension (alpha as JPEG is flattened on white)")
        parser.add_argument(
            "--scale", type=float, default=settings.ARTNEX_DEFAULT_SCALE,
            help=f"{settings.ARTNEX_MIN_SCALE:g} to {settings.ARTNEX_MAX_SCALE:g} "
                 f"(default {settings.ARTNEX_DEFAULT_SCALE:g}, as the API)",
        )
        parser.add_argument("--model", default=None, help="registry name (default: ARTNEX_DEFAULT_MODEL)")
        parser.add_argument("--tile", type=_tile, default=None, help="tile size in input pixels (default: auto)")

    def handle(self, *args: Any, **options: Any) -> None:
        src: Path = options["input"]
        dst: Path = options["output"]
        fmt = options["format"] or EXTENSIONS.get(dst.suffix.lower())
        if fmt is None:
            raise CommandError(f"unknown output extension {dst.suffix!r}; use .jpg, .png or .webp")
        try:
            data = src.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {src}: {exc}") from exc
        config = EngineConfig.from_env()
        with _ProgressBar(self.stderr) as bar:
            try:
                result = upscale_bytes(
                    data, options["scale"], config=config, model=options["model"], output_format=fmt,
                    tile=options["tile"], progress=bar.update,
                )
            except EngineError as exc:
                raise CommandError(str(exc)) from exc
        if result.format != fmt.upper().replace("JPG", "JPEG"):
            self.stderr.write(f"note: wrote {result.format} ({fmt} cannot hold an image this size)")
        dst.write_bytes(result.data)
        self.stdout.write(f"{dst}: {result.width}x{result.height} {result.format} ({result.model})")


def _tile(value: str) -> int:
    tile = int(value)
    if tile < 16:
        raise argparse.ArgumentTypeError("tile must be at least 16")
    return tile


class _ProgressBar:
    """tqdm bar over tiles, opened lazily so small images print nothing."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.bar: Any = None
        self.last = 0

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            if total < PROGRESS_MIN_TILES:
                return
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="tile", desc="upscaling", file=self.stream)
        self.bar.update(done - self.last)
        self.last = done
