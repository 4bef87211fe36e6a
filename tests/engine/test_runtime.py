"""Runtime guards, with stand-in networks: CUDA OOM retries with smaller tiles, NaN falls back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from upscale.engine.device import Placement
from upscale.engine.loader import ArchProfile, LoadedModel
from upscale.engine.registry import ModelSpec
from upscale.engine.runtime import upscale_planes


class Nearest4(torch.nn.Module):
    """A purely local x4 'network': tiled and whole outputs must agree exactly."""

    def __init__(self, max_side: int | None = None, poison: bool = False) -> None:
        super().__init__()
        self.max_side = max_side
        self.poison = poison
        self.sides: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.sides.append(x.shape[-1])
        if self.max_side is not None and x.shape[-1] > self.max_side:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        y = F.interpolate(x, scale_factor=4, mode="nearest")
        return y * float("nan") if self.poison else y


def stand_in(module: torch.nn.Module, precision: str = "fp32") -> LoadedModel:
    spec = ModelSpec("stand-in", "none.pth", 4, "auto")
    return LoadedModel(spec, Path("none.pth"), module, 4, "test", Placement("cpu", precision), 1,
                       ArchProfile(1000, 8))


def image(h: int = 40, w: int = 56) -> torch.Tensor:
    return torch.rand(3, h, w, generator=torch.Generator().manual_seed(1))


def test_tiles_reassemble_exactly() -> None:
    x = image()
    whole = upscale_planes(stand_in(Nearest4()), x, tile=512)
    tiled = upscale_planes(stand_in(Nearest4()), x, tile=16)
    assert whole.shape == (160, 224, 3)
    np.testing.assert_array_equal(tiled, whole)
    expect = (F.interpolate(x[None], scale_factor=4)[0].permute(1, 2, 0).numpy() * 255).round()
    np.testing.assert_array_equal(whole, expect.astype(np.uint8))


def test_out_of_memory_retries_with_smaller_tiles() -> None:
    net = Nearest4(max_side=50)
    out = upscale_planes(stand_in(net), image(), tile=128)
    assert out.shape == (160, 224, 3)
    assert max(net.sides) > 50 and net.sides[-1] <= 50  # it failed big, then succeeded small


def test_non_finite_output_is_recomputed_in_fp32() -> None:
    fp32 = stand_in(Nearest4())
    out = upscale_planes(stand_in(Nearest4(poison=True), "bf16"), image(), tile=16, fallback=lambda: fp32)
    np.testing.assert_array_equal(out, upscale_planes(fp32, image(), tile=16))


def test_non_finite_without_fallback_is_an_error() -> None:
    with pytest.raises(FloatingPointError):
        upscale_planes(stand_in(Nearest4(poison=True), "fp16"), image(), tile=16)


def test_sixteen_bit_output() -> None:
    out = upscale_planes(stand_in(Nearest4()), image(), bits=16, tile=16)
    assert out.dtype == np.uint16 and out.max() > 255
