"""Helpers for engine tests: sample photos, crops, encode/decode round trips."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGES_DIR = REPO_ROOT.parent / "shared" / "images"


def photo(name: str = "astronaut.png") -> Image.Image:
    with Image.open(IMAGES_DIR / name) as img:
        img.load()
        return img


def crop(name: str, box: tuple[int, int, int, int]) -> Image.Image:
    return photo(name).crop(box)


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img
