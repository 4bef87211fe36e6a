"""GPU benchmark, for the first run on a GPU host (and runnable on the CPU at small sizes).

One row per configuration: precision x channels_last x torch.compile x CUDA graphs x batch x
window. Each row: ms per forward (median and p90; CUDA events on a GPU, perf_counter on the
CPU), output megapixels per second, achieved TFLOP/s and percent of the device's peak (work
counted by torch's FlopCounterMode on the padded window: RRDBNet x4 is 35.85 MFLOP per input
pixel), peak memory, and fidelity on three hard crops (PSNR, % of 8-bit values off by more than
2/255, max error) against an fp32 whole-image run on the CPU (exact fp32 whatever the TF32
settings). Then the end-to-end time of `upscale_bytes` per precision, broken down by stage
(decode, upload, network, download, encode).

TF32 state is printed and never changed: production runs with whatever the process has.

    .venv/bin/python bench/gpu.py                                 # GPU: the full grid, x4plus
    .venv/bin/python bench/gpu.py --model realesr-general-x4v3 --compile --graphs
    .venv/bin/python bench/gpu.py --device cpu --model realesr-animevideov3 \\
        --windows 32 --batches 1 2 --repeats 2 --e2e-size 32        # CPU smoke run (tested)
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from upscale.engine import EngineConfig, upscale_bytes  # noqa: E402
from upscale.engine.reference import CROPS_BY_MODEL, fidelity, load_plain, reference_upscale  # noqa: E402
from upscale.engine.registry import lookup  # noqa: E402
from upscale.engine.stages import recording  # noqa: E402

IMAGES = REPO.parent / "shared" / "images"
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
# Dense peak TFLOP/s by device name fragment and precision (vendor figures; fp32 is non-tensor
# fp32, its TF32 tensor-core peak is listed as "tf32"). --peak-tflops overrides.
PEAKS: dict[str, dict[str, float]] = {
    "H200": {"fp16": 989.0, "bf16": 989.0, "tf32": 494.0, "fp32": 67.0},
    "H100": {"fp16": 989.0, "bf16": 989.0, "tf32": 494.0, "fp32": 67.0},
    "A100": {"fp16": 312.0, "bf16": 312.0, "tf32": 156.0, "fp32": 19.5},
    "L40S": {"fp16": 362.0, "bf16": 362.0, "tf32": 183.0, "fp32": 91.6},
}


@dataclass
class Row:
    precision: str
    channels_last: bool
    compiled: bool
    cuda_graph: bool
    batch: int
    window: int
    ms_median: float
    ms_p90: float
    out_mp_per_s: float
    tflops: float
    pct_peak: float | None
    peak_mem_mb: float


def tf32_state() -> dict[str, object]:
    return {
        "cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
        "cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
    }


def peak_tflops(device: str, precision: str, override: float | None) -> float | None:
    if override is not None:
        return override
    if not device.startswith("cuda"):
        return None
    name = torch.cuda.get_device_name(torch.device(device))
    for key, table in PEAKS.items():
        if key in name:
            if precision == "fp32" and torch.backends.cudnn.allow_tf32:
                return table["tf32"]
            return table[precision]
    return None


def flops_per_input_pixel(module: torch.nn.Module) -> float:
    x = torch.rand(1, 3, 64, 64)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        module.float().cpu()(x)
    return counter.get_total_flops() / (64 * 64)


class Runner:
    """The network in one configuration, as a callable on a batch on the device."""

    def __init__(self, plain: torch.nn.Module, device: str, precision: str, channels_last: bool,
                 compiled: bool) -> None:
        self.device, self.precision, self.channels_last = device, precision, channels_last
        self.cuda = device.startswith("cuda")
        module = plain.to(device)
        if self.cuda and precision != "fp32":
            module = module.to(DTYPES[precision])
        if channels_last:
            module = module.to(memory_format=torch.channels_last)
        self.module: Callable[[torch.Tensor], torch.Tensor] = torch.compile(module) if compiled else module

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device)
        if self.cuda and self.precision != "fp32":
            x = x.to(DTYPES[self.precision])
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x.contiguous()

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        autocast = not self.cuda and self.precision == "bf16"
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            return self.module(x)


def graphed(runner: Runner, x: torch.Tensor) -> Callable[[], torch.Tensor]:
    """Capture one forward on a static input as a CUDA graph; replay re-runs it."""
    static = x.clone()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            runner(static)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = runner(static)

    def replay() -> torch.Tensor:
        graph.replay()
        return out

    return replay


def time_ms(fn: Callable[[], object], repeats: int, cuda: bool) -> list[float]:
    times = []
    for _ in range(repeats):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
    return times


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def peak_memory_mb(cuda: bool) -> float:
    if cuda:
        return torch.cuda.max_memory_allocated() / 2**20
    with open("/proc/self/status", encoding="ascii") as fh:  # peak RSS of the process so far
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def crops(model: str) -> list[tuple[str, np.ndarray]]:
    out = []
    for name, (file, box) in CROPS_BY_MODEL.get(model, CROPS_BY_MODEL["realesr-general-x4v3"]).items():
        with Image.open(IMAGES / file) as img:
            out.append((name, np.asarray(img.convert("RGB").crop(box))))
    return out


class _Wrapped(torch.nn.Module):
    """Lets the CPU reference pipeline drive a Runner on any device and dtype."""

    def __init__(self, runner: Runner) -> None:
        super().__init__()
        self.runner = runner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.runner(self.runner.prepare(x)).float().cpu()


def fidelity_of(runner: Runner, refs: list[tuple[str, np.ndarray, np.ndarray]], scale: int) -> dict[str, object]:
    result: dict[str, object] = {}
    for name, img, ref in refs:
        out = reference_upscale(_Wrapped(runner), img, scale)
        psnr, off = fidelity(out, ref)
        result[name] = {"psnr_db": round(psnr, 2), "off_gt2_pct": round(off * 100, 4),
                        "max_err": int(np.abs(out.astype(int) - ref.astype(int)).max())}
    return result


def end_to_end(cfg: EngineConfig, model: str, size: int, repeats: int) -> dict[str, object]:
    with Image.open(IMAGES / "astronaut.png") as src:
        img = src.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    data = buf.getvalue()
    upscale_bytes(data, 4, config=cfg, model=model)  # load and warm
    runs = []
    for _ in range(repeats):
        with recording() as stages:
            t = time.perf_counter()
            upscale_bytes(data, 4, config=cfg, model=model)
            total = time.perf_counter() - t
        runs.append({**{k: v * 1000 for k, v in stages.items()}, "total": total * 1000})
    keys = ("decode", "upload", "network", "download", "resample", "encode", "total")
    return {f"{k}_ms": round(statistics.median(r.get(k, 0.0) for r in runs), 2) for k in keys}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="realesrgan-x4plus")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precisions", nargs="+", default=None, help="default: fp32 fp16 bf16 (CPU: fp32 bf16)")
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 4, 16])
    parser.add_argument("--windows", nargs="+", type=int, default=[256, 512])
    parser.add_argument("--compile", action="store_true", help="add torch.compile rows (minutes of compiling)")
    parser.add_argument("--graphs", action="store_true", help="add CUDA graph rows (CUDA only)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--e2e-size", type=int, default=512)
    parser.add_argument("--peak-tflops", type=float, default=None)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write every result here")
    args = parser.parse_args(argv)

    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        print("--device cuda but torch sees no CUDA device; use --device cpu for a small CPU run", file=sys.stderr)
        return 2
    base = EngineConfig.from_env()
    model_dir = args.model_dir or base.model_dir
    spec = lookup(args.model, base.extra_models)
    if not (model_dir / spec.file).is_file():
        model_dir = REPO.parent / "shared" / "models"
    precisions = args.precisions or (["fp32", "fp16", "bf16"] if cuda else ["fp32", "bf16"])
    header = {"device": torch.cuda.get_device_name() if cuda else "cpu", "torch": torch.__version__,
              "model": args.model, "tf32": tf32_state(), "threads": torch.get_num_threads()}
    print(json.dumps(header))

    per_pixel = flops_per_input_pixel(load_plain(model_dir / spec.file))
    print(json.dumps({"mflop_per_input_pixel": round(per_pixel / 1e6, 3)}))
    refs = [(name, img, reference_upscale(load_plain(model_dir / spec.file), img, spec.scale))
            for name, img in crops(args.model)]

    rows: list[Row] = []
    fidelities: dict[str, object] = {}
    print("| precision | CL | compile | graph | batch | window | ms median | ms p90 | out MP/s | TFLOP/s | % peak "
          "| peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    grid = itertools.product(precisions, (False, True), (False, True) if args.compile else (False,),
                             (False, True) if args.graphs and cuda else (False,))
    for precision, channels_last, compiled, graph in grid:
        runner = Runner(load_plain(model_dir / spec.file), args.device, precision, channels_last, compiled)
        key = f"{precision}{'+CL' if channels_last else ''}{'+compile' if compiled else ''}"
        if key not in fidelities:
            fidelities[key] = fidelity_of(runner, refs, spec.scale)
            print(f"fidelity {key}: {json.dumps(fidelities[key])}", flush=True)
        for window, batch in itertools.product(args.windows, args.batches):
            x = runner.prepare(torch.rand(batch, 3, window, window))
            if cuda:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            try:
                fn: Callable[[], torch.Tensor] = graphed(runner, x) if graph else partial(runner, x)
                for _ in range(2):
                    fn()  # warm: cuDNN/oneDNN kernel choice, compilation
                times = time_ms(fn, args.repeats, cuda)
            except torch.cuda.OutOfMemoryError:
                print(f"| {precision} | {channels_last} | {compiled} | {graph} | {batch} | {window} | out of memory |")
                continue
            med = statistics.median(times)
            tflops = per_pixel * batch * window * window / (med / 1000) / 1e12
            peak = peak_tflops(args.device, precision, args.peak_tflops)
            row = Row(precision, channels_last, compiled, graph, batch, window, round(med, 3), round(p90(times), 3),
                      round(batch * (window * spec.scale) ** 2 / 1e6 / (med / 1000), 3), round(tflops, 4),
                      round(100 * tflops / peak, 2) if peak else None, round(peak_memory_mb(cuda), 1))
            rows.append(row)
            print(f"| {precision} | {channels_last} | {compiled} | {graph} | {batch} | {window} | {row.ms_median} "
                  f"| {row.ms_p90} | {row.out_mp_per_s} | {row.tflops} | {row.pct_peak if peak else '-'} "
                  f"| {row.peak_mem_mb} |", flush=True)
        del runner

    e2e = {}
    for precision in precisions:
        cfg = replace(base, model_dir=model_dir, device=args.device, precision=precision, allow_download=False)
        e2e[precision] = end_to_end(cfg, args.model, args.e2e_size, max(1, min(args.repeats, 5)))
        print(f"end to end {args.e2e_size}x{args.e2e_size} x4 {precision}: {json.dumps(e2e[precision])}", flush=True)
    if tf32_state() != header["tf32"]:
        print("TF32 state changed during the run (it must not)", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps({**header, "rows": [asdict(r) for r in rows], "fidelity": fidelities,
                                         "end_to_end": e2e}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
