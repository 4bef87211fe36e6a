"""Engine benchmark: the product path against a plain fp32 whole-image baseline.

Both run in the same process on the same input, interleaved (baseline, product, baseline, ...)
so machine drift hits both; the ratio is the median of per-pair ratios. Peak memory is measured
in a fresh child process per path, because ru_maxrss only ever grows.

    .venv/bin/python bench/engine.py --models realesrgan-x4plus realesr-general-x4v3 --sizes 128 256
    .venv/bin/python bench/engine.py --memory          # 2000x2000 at x4, peak RSS of the full path
    .venv/bin/python bench/engine.py --cli --pairs 5   # `manage.py upscale` vs a plain fp32 script
    .venv/bin/python bench/engine.py --capacity --sizes 256   # one worker's service time, peak RSS
    .venv/bin/python bench/engine.py --precision-table # fidelity per model, crop and precision

--cli runs whole processes, start-up included: `manage.py upscale` of a 512x512 PNG at x4 with
realesr-general-x4v3, against a plain script (import torch and spandrel, load, fp32 NCHW whole
image, write the PNG with OpenCV: what the reference inference script does). Pairs alternate
which one goes first; the figure is the median of the per-pair time ratios, because the machine
is shared and absolute times drift.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from host import cpu_model  # noqa: E402
from PIL import Image  # noqa: E402

from upscale.engine import EngineConfig, upscale_bytes, upscale_image  # noqa: E402
from upscale.engine.device import cpu_has_fast_bf16  # noqa: E402
from upscale.engine.loader import get_model_by_name  # noqa: E402
from upscale.engine.memory import choose_tile  # noqa: E402
from upscale.engine.reference import fidelity, load_plain, reference_upscale  # noqa: E402
from upscale.engine.registry import lookup  # noqa: E402
from upscale.engine.runtime import forward  # noqa: E402
from upscale.engine.tiling import plan_tiles  # noqa: E402

IMAGE = REPO.parent / "shared" / "images" / "astronaut.png"


def config() -> EngineConfig:
    cfg = EngineConfig.from_env()
    if not os.environ.get("ARTNEX_MODEL_DIR"):
        cfg.model_dir = REPO.parent / "shared" / "models"
    return cfg


def sample(size: int) -> Image.Image:
    with Image.open(IMAGE) as img:
        return img.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork+exec, so a child would report
    # the parent's size; VmHWM belongs to the child's own address space.
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, object]:
    cpu = cpu_model()
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "capability": torch.backends.cpu.get_cpu_capability(),
        "native_bf16": cpu_has_fast_bf16(),
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "python": platform.python_version(),
    }


def compare(model: str, size: int, repeats: int, cfg: EngineConfig) -> dict[str, object]:
    spec = lookup(model, cfg.extra_models)
    plain = load_plain(cfg.model_dir / spec.file)
    loaded = get_model_by_name(model, cfg)
    img = sample(size)
    arr = np.asarray(img)
    base_t, prod_t = [], []
    # Warm both paths once (oneDNN builds its kernels on first use).
    ref = reference_upscale(plain, arr, spec.scale)
    out = np.asarray(upscale_image(img, spec.scale, config=cfg, model=model))
    for _ in range(repeats):
        t = time.perf_counter()
        reference_upscale(plain, arr, spec.scale)
        base_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        upscale_image(img, spec.scale, config=cfg, model=model)
        prod_t.append(time.perf_counter() - t)
    psnr, off = fidelity(out, ref)
    out_mp = (size * spec.scale) ** 2 / 1e6
    return {
        "model": model,
        "size": size,
        "precision": loaded.placement.precision,
        "baseline_s": statistics.median(base_t),
        "product_s": statistics.median(prod_t),
        "speedup": statistics.median(b / p for b, p in zip(base_t, prod_t, strict=True)),
        "baseline_mp_s": out_mp / statistics.median(base_t),
        "product_mp_s": out_mp / statistics.median(prod_t),
        "psnr_db": psnr,
        "off_gt2_pct": off * 100,
    }


def child(path: str, model: str, size: int) -> dict[str, object]:
    """Peak RSS of one path in a fresh process (model load included, and reported apart)."""
    cfg = config()
    spec = lookup(model, cfg.extra_models)
    img = sample(size)
    if path == "baseline":
        plain = load_plain(cfg.model_dir / spec.file)
        loaded_rss = rss_mb()
        t = time.perf_counter()
        reference_upscale(plain, np.asarray(img), spec.scale)
    else:
        get_model_by_name(model, cfg)
        loaded_rss = rss_mb()
        t = time.perf_counter()
        upscale_image(img, spec.scale, config=cfg, model=model)
    return {"path": path, "seconds": time.perf_counter() - t, "rss_loaded_mb": loaded_rss, "peak_rss_mb": peak_mb()}


def memory_check(model: str, size: int, warm: bool = False) -> dict[str, object]:
    """The full product path (PNG bytes in, PNG bytes out) on a size x size image at x4; with
    ``warm``, the same job once more, as a running worker serves its next request."""
    cfg = config()
    get_model_by_name(model, cfg)
    loaded_rss = rss_mb()
    buf = io.BytesIO()
    sample(512).resize((size, size), Image.Resampling.BICUBIC).save(buf, format="PNG")
    t = time.perf_counter()
    result = upscale_bytes(buf.getvalue(), 4, config=cfg, model=model, output_format="png")
    first = time.perf_counter() - t
    warm_seconds = None
    if warm:  # kernels built and buffers reused: a running worker's service time
        t = time.perf_counter()
        upscale_bytes(buf.getvalue(), 4, config=cfg, model=model, output_format="png")
        warm_seconds = time.perf_counter() - t
    return {
        "model": model,
        "input": f"{size}x{size}",
        "output": f"{result.width}x{result.height}",
        "seconds": first,
        "warm_seconds": warm_seconds,
        "rss_loaded_mb": loaded_rss,
        "peak_rss_mb": peak_mb(),
    }


def window_probe(model: str, image_side: int) -> dict[str, object]:
    """One auto-sized tile window of a big network: its peak RSS and time, and what the whole
    image_side x image_side job would take at that rate (RRDBNet at 2000x2000 runs for tens of
    minutes on a small CPU, too long to run whole in a benchmark)."""
    cfg = config()
    loaded = get_model_by_name(model, cfg)
    ctx = loaded.profile.context
    tile = choose_tile(loaded, image_side, image_side, ctx)
    plan = plan_tiles(image_side, image_side, image_side + 20, image_side + 20, tile, ctx)
    win = plan.win_h
    loaded_rss = rss_mb()
    x = torch.rand(1, 3, win, win)
    t = time.perf_counter()
    forward(loaded, x)
    seconds = time.perf_counter() - t
    return {
        "model": model,
        "tile": tile,
        "window": win,
        "window_seconds": seconds,
        "windows_for_image": len(plan.tiles),
        "estimated_image_seconds": seconds * len(plan.tiles),
        "rss_loaded_mb": loaded_rss,
        "peak_rss_mb": peak_mb(),
    }


def cli_compare(pairs: int, size: int, model: str) -> dict[str, object]:
    """Wall time of whole processes, start-up included, interleaved in pairs."""
    import tempfile

    cfg = config()
    spec = lookup(model, cfg.extra_models)
    env = {**os.environ, "ARTNEX_MODEL_DIR": str(cfg.model_dir), "ARTNEX_ALLOW_MODEL_DOWNLOAD": "0"}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.png"
        sample(size).save(src)
        commands = {
            "product": [sys.executable, str(REPO / "manage.py"), "upscale", str(src), f"{tmp}/product.png",
                        "--scale", "4", "--model", model],
            "plain": [sys.executable, str(REPO / "bench" / "plain.py"), str(src), f"{tmp}/plain.png",
                      str(cfg.model_dir / spec.file), str(spec.scale)],
        }
        times: dict[str, list[float]] = {"product": [], "plain": []}
        for i in range(pairs):
            order = ("plain", "product") if i % 2 == 0 else ("product", "plain")
            for name in order:
                t = time.perf_counter()
                subprocess.run(commands[name], check=True, capture_output=True, env=env, cwd=REPO)
                times[name].append(time.perf_counter() - t)
            ratio = times["product"][-1] / times["plain"][-1]
            print(f"pair {i + 1}: plain {times['plain'][-1]:6.2f} s  product {times['product'][-1]:6.2f} s"
                  f"  ratio {ratio:.2f}", flush=True)
        with Image.open(f"{tmp}/product.png") as a, Image.open(f"{tmp}/plain.png") as b:
            psnr, off = fidelity(np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB")))
    ratios = [p / b for p, b in zip(times["product"], times["plain"], strict=True)]
    return {
        "model": model,
        "input": f"{size}x{size}",
        "pairs": pairs,
        "plain_median_s": statistics.median(times["plain"]),
        "product_median_s": statistics.median(times["product"]),
        "ratio_median": statistics.median(ratios),
        "ratios": [round(r, 3) for r in ratios],
        "psnr_db_vs_plain": psnr,
        "off_gt2_pct_vs_plain": off * 100,
    }


def precision_table(models: list[str], precisions: list[str], tile: int) -> None:
    """The fidelity figures behind upscale/engine/device.py's MEASURED table, on this CPU."""
    from dataclasses import replace

    from upscale.engine.reference import CROPS_BY_MODEL

    cfg = replace(config(), device="cpu")
    print(f"{'model':25s} {'crop':12s} {'precision':9s} {'whole >2/255':>13s} {'tiled >2/255':>13s}  max err")
    for model in models:
        spec = lookup(model, cfg.extra_models)
        plain = load_plain(cfg.model_dir / spec.file)
        for crop_name, (file, box) in CROPS_BY_MODEL[model].items():
            with Image.open(IMAGE.parent / file) as src:
                img = src.convert("RGB").crop(box)
            ref = reference_upscale(plain, np.asarray(img), spec.scale)
            for precision in precisions:
                c = replace(cfg, precision=precision)
                cells = []
                worst = 0
                for t in (None, tile):
                    out = np.asarray(upscale_image(img, spec.scale, config=c, model=model, tile=t))
                    cells.append(fidelity(out, ref)[1] * 100)
                    worst = max(worst, int(np.abs(out.astype(int) - ref.astype(int)).max()))
                print(f"{model:25s} {crop_name:12s} {precision:9s} {cells[0]:12.4f}% {cells[1]:12.4f}%  {worst}",
                      flush=True)


def alpha_cost(models: list[str], size: int, pairs: int) -> None:
    """ARTNEX_ALPHA=network vs lanczos on an RGBA crop with a feathered edge, interleaved pairs."""
    from dataclasses import replace

    cfg = config()
    with Image.open(IMAGE.parent / "chelsea_alpha.png") as src:
        img = src.convert("RGBA").crop((40, 80, 40 + size, 80 + size))
    print(f"{'model':25s} {'input':>7s} {'network s':>10s} {'lanczos s':>10s}  lanczos/network  alpha PSNR")
    for model in models:
        runs = {mode: replace(cfg, alpha=mode) for mode in ("network", "lanczos")}
        outs = {mode: np.asarray(upscale_image(img, 4, config=c, model=model)) for mode, c in runs.items()}
        times: dict[str, list[float]] = {"network": [], "lanczos": []}
        for i in range(pairs):
            for mode in ("network", "lanczos") if i % 2 == 0 else ("lanczos", "network"):
                t = time.perf_counter()
                upscale_image(img, 4, config=runs[mode], model=model)
                times[mode].append(time.perf_counter() - t)
        ratio = statistics.median(a / b for a, b in zip(times["lanczos"], times["network"], strict=True))
        psnr, _ = fidelity(outs["lanczos"][..., 3], outs["network"][..., 3])
        print(f"{model:25s} {size:4d}px {statistics.median(times['network']):10.2f} "
              f"{statistics.median(times['lanczos']):10.2f}  {ratio:15.2f}  {psnr:6.1f} dB", flush=True)


def in_child(*args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, env=os.environ.copy()
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["realesrgan-x4plus", "realesr-general-x4v3"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[128, 256])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-peak", action="store_true", help="skip the per-path peak-RSS child runs")
    parser.add_argument("--memory", action="store_true", help="2000x2000 at x4: full path + RRDBNet probe")
    parser.add_argument("--memory-size", type=int, default=2000)
    parser.add_argument("--capacity", action="store_true",
                        help="one worker's service time and peak RSS per model (--sizes, x4), for docs/deploy.md")
    parser.add_argument("--cli", action="store_true", help="manage.py upscale vs a plain fp32 process")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--cli-size", type=int, default=512)
    parser.add_argument("--cli-model", default="realesr-general-x4v3")
    parser.add_argument("--alpha", action="store_true", help="ARTNEX_ALPHA network vs lanczos cost")
    parser.add_argument("--alpha-size", type=int, default=64)
    parser.add_argument("--precision-table", action="store_true", help="fidelity per model, crop, precision")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16", "auto"])
    parser.add_argument("--child", nargs=3, metavar=("PATH", "MODEL", "SIZE"), help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", nargs=2, metavar=("MODEL", "SIZE"), help=argparse.SUPPRESS)
    parser.add_argument("--capacity-child", nargs=2, metavar=("MODEL", "SIZE"), help=argparse.SUPPRESS)
    parser.add_argument("--probe-child", nargs=2, metavar=("MODEL", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], int(args.child[2]))))
        return
    if args.memory_child:
        print(json.dumps(memory_check(args.memory_child[0], int(args.memory_child[1]))))
        return
    if args.capacity_child:
        print(json.dumps(memory_check(args.capacity_child[0], int(args.capacity_child[1]), warm=True)))
        return
    if args.probe_child:
        print(json.dumps(window_probe(args.probe_child[0], int(args.probe_child[1]))))
        return

    print(json.dumps({"machine": machine()}))
    if args.cli:
        print(json.dumps({"cli": cli_compare(args.pairs, args.cli_size, args.cli_model)}))
        return
    if args.alpha:
        alpha_cost(args.models, args.alpha_size, args.pairs)
        return
    if args.precision_table:
        precision_table(args.models, args.precisions, 32)
        return
    if args.capacity:
        # Each model in a fresh process, so its peak RSS is its own (what one worker needs).
        for model in args.models:
            for size in args.sizes:
                print(json.dumps({"capacity": in_child("--capacity-child", model, str(size))}), flush=True)
        return
    if args.memory:
        print(json.dumps({"memory": in_child("--memory-child", "realesr-general-x4v3", str(args.memory_size))}))
        print(json.dumps({"probe": in_child("--probe-child", "realesrgan-x4plus", str(args.memory_size))}))
        return
    cfg = config()
    header = "model                     size  prec  baseline s  product s  speedup  out MP/s (b/p)   PSNR  >2/255"
    print(header)
    for model in args.models:
        for size in args.sizes:
            r = compare(model, size, args.repeats, cfg)
            print(
                f"{model:25s} {size:4d}  {r['precision']:4s}  {r['baseline_s']:10.2f}  {r['product_s']:9.2f}"
                f"  {r['speedup']:6.2f}x  {r['baseline_mp_s']:6.3f}/{r['product_mp_s']:6.3f}"
                f"  {r['psnr_db']:6.1f}  {r['off_gt2_pct']:.4f}%",
                flush=True,
            )
            if not args.no_peak:
                for path in ("baseline", "product"):
                    r[f"{path}_peak"] = in_child("--child", path, model, str(size))
            print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
