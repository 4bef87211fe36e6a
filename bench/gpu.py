"""GPU check: fidelity and speed of realesrgan-x4plus on 512x512 inputs in each precision.

Needs an NVIDIA GPU. For fp32, fp16 and bf16 it runs the product path (upscale_image with
device="cuda"), whole and in tiles of 128, and checks the fidelity rule against an fp32
whole-image run of the same network with TF32 disabled; then times the product path and the
bare network forward (median of --repeats, after warm-up), with peak GPU memory.

    .venv/bin/python bench/gpu.py [--model realesrgan-x4plus] [--size 512] [--repeats 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from upscale.engine import EngineConfig, upscale_image  # noqa: E402
from upscale.engine.loader import get_model_by_name  # noqa: E402
from upscale.engine.reference import fidelity, load_plain, reference_upscale  # noqa: E402
from upscale.engine.registry import lookup  # noqa: E402
from upscale.engine.runtime import forward  # noqa: E402

MIN_PSNR, MAX_OFF = 45.0, 0.001
IMAGE = REPO.parent / "shared" / "images" / "astronaut.png"


def sample(size: int) -> Image.Image:
    with Image.open(IMAGE) as src:
        img = src.convert("RGB")
        return img if img.size == (size, size) else img.resize((size, size), Image.Resampling.LANCZOS)


def cuda_median(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


@torch.inference_mode()
def reference_on_gpu(cfg: EngineConfig, model: str, arr: np.ndarray) -> np.ndarray:
    spec = lookup(model, cfg.extra_models)
    plain = load_plain(cfg.model_dir / spec.file).cuda()
    # The reference is strict fp32: TF32 convolutions would already cost ~1e-3 relative error.
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False

    ref = reference_upscale(_OnGpu(plain), arr, spec.scale)
    del plain
    torch.cuda.empty_cache()
    return ref


class _OnGpu(torch.nn.Module):
    """Feeds the CPU-side reference pipeline's tensors through a network on the GPU."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.cuda()).cpu()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="realesrgan-x4plus")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--precisions", nargs="+", default=["fp32", "fp16", "bf16"])
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("bench/gpu.py needs an NVIDIA GPU with CUDA; none is visible to torch", file=sys.stderr)
        return 2

    base = EngineConfig.from_env()
    if not (base.model_dir / lookup(args.model, base.extra_models).file).is_file():
        base = replace(base, model_dir=REPO.parent / "shared" / "models")
    img = sample(args.size)
    arr = np.asarray(img)
    scale = lookup(args.model, base.extra_models).scale
    print(json.dumps({"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "model": args.model,
                      "input": f"{args.size}x{args.size}"}))
    ref = reference_on_gpu(base, args.model, arr)
    failed = False
    for precision in args.precisions:
        cfg = replace(base, device="cuda", precision=precision)
        loaded = get_model_by_name(args.model, cfg)
        row: dict[str, object] = {"requested": precision, "precision": loaded.placement.precision}
        for label, tile in (("whole", None), ("tiles128", 128)):
            out = np.asarray(upscale_image(img, scale, config=cfg, model=args.model, tile=tile))
            psnr, off = fidelity(out, ref)
            ok = psnr >= MIN_PSNR and off <= MAX_OFF
            failed |= not ok
            row[f"{label}_psnr_db"] = round(psnr, 2)
            row[f"{label}_off_gt2_pct"] = round(off * 100, 5)
            row[f"{label}_ok"] = ok
        torch.cuda.reset_peak_memory_stats()
        product_s = cuda_median(lambda cfg=cfg: upscale_image(img, scale, config=cfg, model=args.model),
                                args.repeats)
        row["product_s"] = product_s
        row["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
        x = torch.rand(1, 3, args.size + 20, args.size + 20)
        forward(loaded, x)  # warm (cuDNN autotune, allocator)
        row["network_s"] = cuda_median(lambda loaded=loaded, x=x: forward(loaded, x), args.repeats)
        row["out_mp_per_s"] = (args.size * scale) ** 2 / 1e6 / product_s
        print(json.dumps(row), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
