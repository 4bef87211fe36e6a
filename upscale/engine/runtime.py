"""Run a loaded network over a whole image, tile by tile, into a quantised output buffer."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

import numpy as np
import torch

from .loader import LoadedModel
from .memory import choose_batch, choose_tile
from .stages import stage
from .tiling import PRE_PAD, Tile, TilePlan, pad_to_multiple, plan_tiles, pre_pad

log = logging.getLogger(__name__)

MIN_TILE = 32

Progress = Callable[[int, int], None]
FallbackModel = Callable[[], LoadedModel]


@contextlib.contextmanager
def _precision_scope(model: LoadedModel) -> Iterator[None]:
    placement = model.placement
    if not placement.is_cuda and placement.precision == "bf16":
        with torch.autocast("cpu", dtype=torch.bfloat16):
            yield
    else:
        yield


@torch.inference_mode()
def forward(model: LoadedModel, batch: torch.Tensor) -> torch.Tensor:
    """One batch of windows (NCHW float32 on CPU) -> float32 output on the model's device."""
    placement = model.placement
    with stage("upload", placement.is_cuda):
        x = batch.to(placement.device, non_blocking=True)
        if placement.is_cuda and placement.precision != "fp32":
            x = x.to(placement.dtype)
        x = x.contiguous(memory_format=torch.channels_last)
    with stage("network", placement.is_cuda), _precision_scope(model):
        y = model.module(x)
    return y.float()


def _quantise(y: torch.Tensor, bits: int) -> np.ndarray:
    top = 255.0 if bits == 8 else 65535.0
    # Rounding on the device keeps the copy to host small (uint8) and matches the reference.
    with stage("download", y.is_cuda):
        q = y.clamp_(0.0, 1.0).mul_(top).round_()
        q = q.to(torch.uint8) if bits == 8 else q.to(torch.int32)
        out = q.permute(0, 2, 3, 1).cpu().numpy()
    return out if bits == 8 else out.astype(np.uint16)


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError)


@torch.inference_mode()
def upscale_planes(
    model: LoadedModel,
    image: torch.Tensor,
    *,
    bits: int = 8,
    tile: int | None = None,
    progress: Progress | None = None,
    fallback: FallbackModel | None = None,
) -> np.ndarray:
    """image: (3, H, W) float32 in [0, 1] on the CPU -> (H*s, W*s, 3) uint8/uint16 array.

    fallback returns the fp32 twin of a reduced-precision model; a batch whose output holds
    NaN/inf is recomputed with it. On a CUDA out-of-memory error the batch is halved first
    (same windows, so finished tiles stay), then the window; tiles already pasted are kept and
    only the pixels still missing are computed again.
    """
    h, w = image.shape[-2:]
    s = model.scale
    padded = pad_to_multiple(pre_pad(image.unsqueeze(0)), model.multiple_of)
    size = tile or choose_tile(model, h, w, model.profile.context)
    out = np.empty((h * s, w * s, 3), dtype=np.uint8 if bits == 8 else np.uint16)
    done = np.zeros((h, w), dtype=bool)  # input pixels whose output is in `out`
    batch: int | None = None
    while True:
        plan = plan_tiles(h, w, padded.shape[-2], padded.shape[-1], size, model.profile.context, model.multiple_of)
        if batch is None:
            batch = choose_batch(model, plan.win_h, plan.win_w)
        try:
            _run(model, padded, plan, out, done, batch, bits, progress, fallback)
            return out
        except Exception as exc:
            if not _is_oom(exc):
                raise
            if model.placement.is_cuda:
                torch.cuda.empty_cache()
            if batch > 1:
                batch = max(1, batch // 2)
                log.warning("CUDA out of memory; retrying the remaining tiles %d windows at a time", batch)
            elif size > MIN_TILE:
                size = max(MIN_TILE, size // 2)
                log.warning("CUDA out of memory at batch 1; retrying the remaining pixels with %d-pixel tiles", size)
            else:
                raise


def _core(t: Tile) -> tuple[slice, slice]:
    """The tile's core in input-image coordinates."""
    return slice(t.y.core0 - PRE_PAD, t.y.core1 - PRE_PAD), slice(t.x.core0 - PRE_PAD, t.x.core1 - PRE_PAD)


def _run(
    model: LoadedModel,
    padded: torch.Tensor,
    plan: TilePlan,
    out: np.ndarray,
    done: np.ndarray,
    batch_size: int,
    bits: int,
    progress: Progress | None,
    fallback: FallbackModel | None,
) -> None:
    s = model.scale
    todo = [t for t in plan.tiles if not done[_core(t)].all()]
    finished = len(plan.tiles) - len(todo)
    for i in range(0, len(todo), batch_size):
        group = todo[i : i + batch_size]
        windows = torch.cat([_window(padded, t, plan) for t in group])
        y = forward(model, windows)
        if model.placement.precision != "fp32" and not bool(torch.isfinite(y).all()):
            if fallback is None:
                raise FloatingPointError("non-finite output and no fp32 fallback")
            log.warning("%s produced NaN/inf in %s; recomputing in fp32", model.spec.name, model.placement)
            y = forward(fallback(), windows)
        _paste(out, done, _quantise(y, bits), group, s)
        finished += len(group)
        if progress is not None:
            progress(finished, len(plan.tiles))


def _window(padded: torch.Tensor, t: Tile, plan: TilePlan) -> torch.Tensor:
    return padded[:, :, t.y.win0 : t.y.win0 + plan.win_h, t.x.win0 : t.x.win0 + plan.win_w]


def _paste(out: np.ndarray, done: np.ndarray, q: np.ndarray, group: list[Tile], s: int) -> None:
    for k, t in enumerate(group):
        ys, xs = _core(t)
        oy0, oy1, ox0, ox1 = ys.start * s, ys.stop * s, xs.start * s, xs.stop * s
        iy0, ix0 = (t.y.core0 - t.y.win0) * s, (t.x.core0 - t.x.win0) * s
        new = q[k, iy0 : iy0 + oy1 - oy0, ix0 : ix0 + ox1 - ox0]
        had = done[ys, xs]
        if had.any():
            # A re-planned tile overlapping finished ones: keep what was already delivered.
            keep = np.repeat(np.repeat(had, s, axis=0), s, axis=1)[..., None]
            out[oy0:oy1, ox0:ox1] = np.where(keep, out[oy0:oy1, ox0:ox1], new)
        else:
            out[oy0:oy1, ox0:ox1] = new
        done[ys, xs] = True
