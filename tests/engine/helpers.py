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


def expected_cpu_auto(arch: str) -> tuple[str, str]:
    """What `auto` must pick on this CPU for `arch`, and why, in words for the run's summary.

    The measured table proposes bf16 only for SRVGG on native-bf16 CPUs; the start-up timing
    then has the last word, because the flags can promise what the silicon does not deliver
    (seen: an Intel VM with avx512_bf16 and avx512_fp16 but AMX hidden, where oneDNN's bf16 conv
    ran at 0.53x fp32)."""
    from upscale.engine.device import confirm_bf16, cpu_kind, cpu_policy

    if cpu_policy(arch) != "bf16":
        return "fp32", f"measured policy for {arch} on {cpu_kind().name}"
    conf = confirm_bf16()
    verdict = "taken" if conf.taken else "rejected"
    return ("bf16" if conf.taken else "fp32"), f"bf16 proposed, start-up timing {conf.speedup:.2f}x fp32: {verdict}"
