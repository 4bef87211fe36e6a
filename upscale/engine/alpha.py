"""Alpha-aware preparation: colour under fully transparent pixels must not leak into edges."""

from __future__ import annotations

import torch
import torch.nn.functional as F


@torch.inference_mode()
def bleed_transparent(rgb: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Replace the colour of fully transparent pixels by that of their visible neighbours.

    Editors store arbitrary colour (often black) under alpha 0; a network that looks at a
    neighbourhood mixes it into the visible edge, which shows as dark or green fringes. A
    push-pull pyramid fills every hole with the alpha-weighted average colour around it.
    rgb: (3, H, W), alpha: (H, W), both in [0, 1]. Visible pixels are returned unchanged.
    """
    known = (alpha > 0).to(rgb.dtype)[None, None]
    if bool(known.all()) or not bool(known.any()):
        return rgb
    colour = (rgb[None] * known, known)
    levels = [colour]
    while min(levels[-1][1].shape[-2:]) > 1:
        c, m = levels[-1]
        # Sums (not means) per 2x2 block: the ratio c/m is the weighted mean either way.
        levels.append((F.avg_pool2d(c, 2, ceil_mode=True), F.avg_pool2d(m, 2, ceil_mode=True)))
    c, m = levels[-1]
    filled = c / m.clamp_min(1e-8)
    for c, m in reversed(levels[:-1]):
        up = F.interpolate(filled, size=c.shape[-2:], mode="bilinear", align_corners=False)
        own = c / m.clamp_min(1e-8)
        filled = torch.where(m > 0, own, up)
    out = torch.where(known > 0, rgb[None], filled)
    return out[0].clamp_(0.0, 1.0)
