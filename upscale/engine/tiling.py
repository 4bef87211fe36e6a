"""Overlapping fixed-shape tiles: memory bounded by the tile, output identical in shape.

The image is reflect-padded by PRE_PAD like the reference RealESRGANer, then cut into cores
that cover only the real pixels. Each core is run inside a window of the same fixed shape that
adds `context` pixels of real neighbourhood on every side (windows slide inward at the image
border instead of padding), so every batch has one shape, and only the core of each window's
output is kept. With enough context the network cannot tell a window from the whole image,
which is what keeps seams invisible.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

PRE_PAD = 10  # the reference pipeline's reflect pre-padding


@dataclass(frozen=True)
class Span:
    core0: int  # core start, in padded coordinates
    core1: int
    win0: int  # window start, in padded coordinates (window length is the plan's window)


@dataclass(frozen=True)
class Tile:
    y: Span
    x: Span


@dataclass(frozen=True)
class TilePlan:
    tiles: tuple[Tile, ...]
    win_h: int
    win_w: int


def pre_pad(x: torch.Tensor, pad: int = PRE_PAD) -> torch.Tensor:
    """Reflect-pad NCHW like the reference; tiny images fall back to edge replication."""
    h, w = x.shape[-2:]
    if pad <= 0:
        return x
    mode = "reflect" if min(h, w) > pad else "replicate"
    return F.pad(x, (pad, pad, pad, pad), mode=mode)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if min(h, w) > max(ph, pw) else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def _spans(start: int, length: int, padded: int, tile: int, context: int, window: int) -> list[Span]:
    n = max(1, math.ceil(length / tile))
    # Equal cores instead of full tiles plus a sliver: no tile is starved of work.
    bounds = [start + round(i * length / n) for i in range(n + 1)]
    spans = []
    for c0, c1 in itertools.pairwise(bounds):
        w0 = min(max(c0 - context, 0), padded - window)
        spans.append(Span(c0, c1, w0))
    return spans


def plan_tiles(
    height: int, width: int, padded_h: int, padded_w: int, tile: int, context: int, multiple: int = 1
) -> TilePlan:
    """Plan windows for an image of height x width placed at PRE_PAD inside the padded frame."""

    def window_len(length: int, padded: int) -> int:
        if padded <= tile + 2 * context:
            return padded  # the whole side fits one window: no overlap to pay for
        # As many cores as tiles of `tile` need, then windows only as big as those cores:
        # a 256-pixel side with 192-pixel tiles runs two 128-pixel cores, not 192 + 64.
        n = max(1, math.ceil(length / tile))
        want = math.ceil(length / n) + 2 * context
        want += (-want) % multiple
        return min(want, padded)

    win_h, win_w = window_len(height, padded_h), window_len(width, padded_w)
    core_h = win_h - 2 * context if win_h < padded_h else height
    core_w = win_w - 2 * context if win_w < padded_w else width
    ys = _spans(PRE_PAD, height, padded_h, core_h, context, win_h)
    xs = _spans(PRE_PAD, width, padded_w, core_w, context, win_w)
    return TilePlan(tuple(Tile(y, x) for y in ys for x in xs), win_h, win_w)


def batches(plan: TilePlan, batch: int) -> Iterator[list[Tile]]:
    tiles = list(plan.tiles)
    for i in range(0, len(tiles), batch):
        yield tiles[i : i + batch]
