"""The baseline process for `bench/engine.py --cli`: a plain fp32 whole-image run.

Only what the reference Real-ESRGAN inference script does (OpenCV read, fp32 NCHW network on the
whole image with a 10-pixel reflect pre-pad, OpenCV write), importing nothing of the engine: its
start-up is what any script that loads the weights through spandrel pays (`import spandrel` the
plain way, torchvision included; the engine avoids that import, see
upscale/engine/spandrel_import.py and docs/performance.md).

    .venv/bin/python bench/plain.py IN.png OUT.png WEIGHTS.pth [SCALE]
"""

from __future__ import annotations

import sys

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from spandrel import ModelLoader, canonicalize_state_dict

PRE_PAD = 10


def main(src: str, dst: str, weights: str, scale: int = 4) -> None:
    state = torch.load(weights, map_location="cpu", weights_only=True)
    net = ModelLoader("cpu").load_from_state_dict(canonicalize_state_dict(state)).model.eval()
    bgr = cv2.imread(src, cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read {src}")
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(bgr[..., ::-1])).permute(2, 0, 1)[None].float() / 255.0
        h, w = x.shape[-2:]
        y = net(F.pad(x, (PRE_PAD,) * 4, mode="reflect"))
        y = y[:, :, PRE_PAD * scale : (PRE_PAD + h) * scale, PRE_PAD * scale : (PRE_PAD + w) * scale]
        rgb = (y.clamp(0, 1) * 255.0).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
    cv2.imwrite(dst, np.ascontiguousarray(rgb[..., ::-1]))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 4)
