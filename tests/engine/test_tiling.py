"""Tile plans: fixed window shape, every output pixel written exactly once."""

from __future__ import annotations

import numpy as np
import pytest

from upscale.engine.tiling import PRE_PAD, plan_tiles


@pytest.mark.parametrize(
    ("h", "w", "tile", "context", "multiple"),
    [(5, 7, 32, 24, 1), (100, 37, 32, 24, 1), (300, 451, 128, 40, 1), (129, 257, 64, 16, 2), (64, 64, 64, 24, 4)],
)
def test_plan_covers_the_image_once_with_one_window_shape(
    h: int, w: int, tile: int, context: int, multiple: int
) -> None:
    ph, pw = h + 2 * PRE_PAD, w + 2 * PRE_PAD
    ph += (-ph) % multiple
    pw += (-pw) % multiple
    plan = plan_tiles(h, w, ph, pw, tile, context, multiple)
    hits = np.zeros((h, w), dtype=int)
    for t in plan.tiles:
        # Every window has the plan's shape and lies inside the padded frame.
        assert t.y.win0 >= 0 and t.y.win0 + plan.win_h <= ph
        assert t.x.win0 >= 0 and t.x.win0 + plan.win_w <= pw
        # The core lies inside its window, with the promised context wherever the frame allows.
        assert t.y.win0 <= t.y.core0 < t.y.core1 <= t.y.win0 + plan.win_h
        assert t.x.win0 <= t.x.core0 < t.x.core1 <= t.x.win0 + plan.win_w
        if plan.win_h < ph:
            assert t.y.core0 - t.y.win0 >= min(context, t.y.core0)
            assert t.y.win0 + plan.win_h - t.y.core1 >= min(context, ph - t.y.core1)
        hits[t.y.core0 - PRE_PAD : t.y.core1 - PRE_PAD, t.x.core0 - PRE_PAD : t.x.core1 - PRE_PAD] += 1
    assert (hits == 1).all()
    assert plan.win_h % multiple == 0 or plan.win_h == ph


def test_small_image_is_one_window() -> None:
    plan = plan_tiles(40, 30, 60, 50, 256, 24)
    assert len(plan.tiles) == 1
    assert (plan.win_h, plan.win_w) == (60, 50)
