"""Runtime guards, with stand-in networks: CUDA OOM retries with smaller tiles, NaN falls back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from upscale.engine import memory, runtime
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
    np.testing.assert_array_equal(out, upscale_planes(stand_in(Nearest4()), image(), tile=512))


class Budgeted(Nearest4):
    """Runs out of memory above `max_batch` windows, or after `fail_after` calls (fragmentation)."""

    def __init__(self, max_batch: int = 64, fail_after: int | None = None) -> None:
        super().__init__()
        self.max_batch = max_batch
        self.fail_after = fail_after
        self.calls: list[tuple[int, int, int]] = []  # (batch, height, width) that succeeded

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > self.max_batch or (self.fail_after is not None and len(self.calls) >= self.fail_after
                                          and x.shape[-1] > 50):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        self.calls.append((x.shape[0], x.shape[-2], x.shape[-1]))
        return F.interpolate(x, scale_factor=4, mode="nearest")


def test_out_of_memory_halves_the_batch_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "choose_batch", lambda model, h, w: 8)
    net = Budgeted(max_batch=2)
    out = upscale_planes(stand_in(net), image(64, 64), tile=16)
    np.testing.assert_array_equal(out, upscale_planes(stand_in(Nearest4()), image(64, 64), tile=512))
    # 8 -> 4 -> 2 windows per batch, the window shape unchanged; 16 tiles, each computed once.
    assert {b for b, _, _ in net.calls} == {2}
    assert len({(h, w) for _, h, w in net.calls}) == 1
    assert sum(b for b, _, _ in net.calls) == 16


def test_out_of_memory_at_batch_1_halves_the_window_and_keeps_finished_tiles() -> None:
    net = Budgeted(fail_after=2)
    x = image(96, 96)
    out = upscale_planes(stand_in(net), x, tile=48)  # 2x2 tiles of 48 in 64-px windows
    np.testing.assert_array_equal(out, upscale_planes(stand_in(Nearest4()), x, tile=512))
    big = [c for c in net.calls if c[2] > 50]
    small = [c for c in net.calls if c[2] <= 50]
    assert len(big) == 2 and small  # two tiles finished before memory ran out
    # The finished half of the image is not computed again: the small windows cover only the
    # remaining 96x48 (plus their context), far less than the whole 96x96 would need.
    assert sum(h * w for _, h, w in small) < 2 * sum(h * w for _, h, w in big)


class FakeCuda:
    def __init__(self, free: int, total: int, reserved: int, allocated: int) -> None:
        self.free, self.total, self.reserved, self.allocated = free, total, reserved, allocated

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(memory.torch.cuda, "mem_get_info", lambda dev=None: (self.free, self.total))
        monkeypatch.setattr(memory.torch.cuda, "memory_reserved", lambda dev=None: self.reserved)
        monkeypatch.setattr(memory.torch.cuda, "memory_allocated", lambda dev=None: self.allocated)


GIB = 1 << 30


def test_cuda_budget_counts_our_cache_as_free(monkeypatch: pytest.MonkeyPatch) -> None:
    """PyTorch keeps freed blocks cached: device-wide 'free' misses them, but we can reuse them."""
    FakeCuda(free=2 * GIB, total=80 * GIB, reserved=10 * GIB, allocated=1 * GIB).install(monkeypatch)
    assert memory.cuda_budget("cuda", processes=1) == int((2 + 9) * GIB * memory.CUDA_USABLE)


def test_cuda_budget_leaves_other_workers_their_share(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeCuda(free=70 * GIB, total=80 * GIB, reserved=1 * GIB, allocated=1 * GIB).install(monkeypatch)
    alone = memory.cuda_budget("cuda", processes=1)
    shared = memory.cuda_budget("cuda", processes=4)
    assert shared == int(80 * GIB * memory.CUDA_USABLE / 4) - GIB  # our weights count against our share
    assert shared < alone / 3
    monkeypatch.setenv("ARTNEX_WORKER_CONCURRENCY", "4")
    assert memory.cuda_budget("cuda") == shared
    # Another process already holding most of the device: what is really free bounds us.
    FakeCuda(free=3 * GIB, total=80 * GIB, reserved=1 * GIB, allocated=1 * GIB).install(monkeypatch)
    assert memory.cuda_budget("cuda", processes=4) == int(3 * GIB * memory.CUDA_USABLE)


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
