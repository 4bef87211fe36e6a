"""The fidelity reference: a plain fp32 whole-image run, as RealESRGANer computes it.

Deliberately independent of the engine's loader, tiling and precision code (only spandrel and
torch), so tests and benchmarks compare the product path against something it cannot share
a bug with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from spandrel import ModelLoader, canonicalize_state_dict

PRE_PAD = 10


def load_plain(path: Path) -> torch.nn.Module:
    state = torch.load(path, map_location="cpu", weights_only=True)
    return ModelLoader("cpu").load_from_state_dict(canonicalize_state_dict(state)).model.eval()


@torch.inference_mode()
def reference_upscale(module: torch.nn.Module, rgb: np.ndarray, scale: int) -> np.ndarray:
    """rgb: (H, W, 3) uint8 -> (H*scale, W*scale, 3) uint8, fp32, NCHW, whole image."""
    x = torch.from_numpy(np.array(rgb, copy=True)).permute(2, 0, 1)[None].float() / 255.0
    h, w = x.shape[-2:]
    mode = "reflect" if min(h, w) > PRE_PAD else "replicate"
    x = F.pad(x, (PRE_PAD, PRE_PAD, PRE_PAD, PRE_PAD), mode=mode)
    y = module(x)[:, :, PRE_PAD * scale : (PRE_PAD + h) * scale, PRE_PAD * scale : (PRE_PAD + w) * scale]
    y = (y.clamp(0, 1) * 255.0).round().to(torch.uint8)
    return y[0].permute(1, 2, 0).numpy()


def fidelity(output: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(PSNR in dB, fraction of 8-bit values off by more than 2/255)."""
    diff = output.astype(np.int32) - reference.astype(np.int32)
    mse = float(np.mean(diff.astype(np.float64) ** 2))
    psnr = float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)
    return psnr, float(np.mean(np.abs(diff) > 2))


# Crops on which precision and tiling are judged: fine texture is where reduced precision and
# short tile context fail first, so every model is checked on the chelsea fur at (200,100) and
# on the rocket, plus one more photo. RRDBNet strips are wide and short (128x24) so that tiles
# of 32 cut them into four windows while the test tier stays fast (RRDBNet costs ~0.2 ms per
# input pixel in fp32 on two cores); the SRVGG crops are 96x96.
RRDB_CROPS: dict[str, tuple[str, tuple[int, int, int, int]]] = {
    "chelsea-fur": ("chelsea.png", (200, 100, 328, 124)),
    "rocket": ("rocket.jpg", (260, 150, 388, 174)),
    "astronaut": ("astronaut.png", (150, 100, 278, 124)),
}
SRVGG_CROPS: dict[str, tuple[str, tuple[int, int, int, int]]] = {
    "chelsea-fur": ("chelsea.png", (200, 100, 296, 196)),
    "rocket": ("rocket.jpg", (260, 150, 356, 246)),
    "coffee": ("coffee.png", (200, 120, 296, 216)),
}
CROPS_BY_MODEL = {
    "realesrgan-x4plus": RRDB_CROPS,
    "realesrgan-x4plus-anime": RRDB_CROPS,
    "realesr-general-x4v3": SRVGG_CROPS,
    "realesr-animevideov3": SRVGG_CROPS,
}
