"""Choose the device, precision and CPU thread count for this process.

Precision is decided per architecture, because reduced precision is not equally safe for every
network: RRDBNet's long residual stream amplifies bf16's 8-bit mantissa into visible errors on
fine texture, while the small SRVGG networks stay within the fidelity rule. The figures behind
the policy are in MEASURED below.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch

from .errors import EngineError

log = logging.getLogger(__name__)

# spandrel's architecture ids of the families we have measured.
RRDBNET, SRVGG = "ESRGAN", "Compact"
# The registry's names for them (operators may write either).
ARCH_ALIASES = {"RRDBNet": RRDBNET, "ESRGAN": RRDBNET, "SRVGGNetCompact": SRVGG, "Compact": SRVGG}

# Precision policy evidence. Each row: (model, crop, precision + layout, % of 8-bit values off by
# more than 2/255 against the fp32 whole-image reference (worst of whole and tiled), speed against
# fp32 NCHW on one thread). The rule is at most 0.1% off. Fidelity measured 2026-11-30 on a 2-core
# AMX Xeon, crops of reference.py (the same on AVX512-BF16: the cause is bf16 storage, not the
# ISA); rerun with
#     .venv/bin/python bench/engine.py --precision-table --precisions fp32 bf16
# Speeds: ../shared/docs/performance-notes.md (AMD EPYC AVX512-BF16, one thread).
MEASURED: tuple[tuple[str, str, str, float, float], ...] = (
    ("realesrgan-x4plus", "chelsea-fur", "bf16+CL", 0.224, 2.2),
    ("realesrgan-x4plus", "rocket", "bf16+CL", 0.090, 2.2),
    ("realesrgan-x4plus", "astronaut", "bf16+CL", 0.158, 2.2),
    ("realesrgan-x4plus", "all three", "fp32+CL", 0.0, 1.1),
    ("realesrgan-x4plus-anime", "chelsea-fur", "bf16+CL", 0.043, 2.2),
    ("realesrgan-x4plus-anime", "rocket", "bf16+CL", 0.181, 2.2),
    ("realesrgan-x4plus-anime", "astronaut", "bf16+CL", 0.108, 2.2),
    ("realesrgan-x4plus-anime", "all three", "fp32+CL", 0.0, 1.1),
    ("realesr-general-x4v3", "chelsea-fur", "bf16+CL", 0.0, 3.3),
    ("realesr-general-x4v3", "rocket", "bf16+CL", 0.040, 3.3),
    ("realesr-general-x4v3", "coffee", "bf16+CL", 0.004, 3.3),
    ("realesr-general-x4v3", "all three", "fp32+CL", 0.0, 1.5),
    ("realesr-animevideov3", "all three", "bf16+CL", 0.0, 3.3),
)
# So on the CPU: RRDBNet and unknown architectures run fp32 + channels_last; SRVGG runs bf16 +
# channels_last where the CPU computes bf16 natively, fp32 elsewhere (emulated bf16 is 4-100x
# slower than fp32). AMX-FP16 CPUs: fp16 would suit RRDBNet's fidelity (it passes on every crop)
# but has not been measured on such a CPU, so it is not chosen.
# The flags are a proposal, not a verdict: on a 2-core Intel VM showing avx512_bf16 and
# avx512_fp16 with AMX hidden (2026-12-01), oneDNN ran the 64-channel conv in bf16 at 0.53x and
# in fp16 at 0.60x fp32 (one thread), so confirm_bf16() below rejects bf16 there.
CPU_REDUCED: dict[str, str] = {SRVGG: "bf16"}
# The worker-start confirmation must see at least this speed-up before taking bf16.
CONFIRM_MIN_SPEEDUP = 1.5


@dataclass(frozen=True)
class Placement:
    device: str  # "cpu" or "cuda" (or "cuda:N")
    precision: str  # "fp32", "bf16" or "fp16"

    @property
    def dtype(self) -> torch.dtype:
        return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[self.precision]

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")


@dataclass(frozen=True)
class CpuKind:
    """What the CPU computes natively, and how we know."""

    amx_bf16: bool
    avx512_bf16: bool
    amx_fp16: bool
    source: str  # "torch probes" or "/proc/cpuinfo"

    @property
    def native_bf16(self) -> bool:
        return self.amx_bf16 or self.avx512_bf16

    @property
    def name(self) -> str:
        if self.amx_bf16:
            return "AMX" + ("-FP16" if self.amx_fp16 else "") + " (bf16 native)"
        if self.avx512_bf16:
            return "AVX512-BF16 (bf16 native)"
        return "no native bf16 (AVX2/AVX-512 fp32 only)"

    def describe(self) -> str:
        return f"{self.name}, detected by {self.source}; torch capability {torch.backends.cpu.get_cpu_capability()}"


def _cpuinfo_flags(path: Path = Path("/proc/cpuinfo")) -> set[str]:
    try:
        with path.open(encoding="ascii", errors="replace") as fh:
            line = next((line for line in fh if line.startswith("flags")), "")
    except OSError:
        return set()
    return set(line.partition(":")[2].split())


def detect_cpu(
    probe: Callable[[str], bool | None] | None = None, cpuinfo: Path = Path("/proc/cpuinfo")
) -> CpuKind:
    """Ask torch's own probes (what oneDNN will use); fall back to /proc/cpuinfo flags when this
    torch build lacks them. probe(name) -> bool, or None when the probe does not exist."""

    def torch_probe(name: str) -> bool | None:
        fn = getattr(torch.cpu, name, None)
        if fn is None:
            return None
        try:
            return bool(fn())
        except RuntimeError:
            return None

    ask = probe or torch_probe
    answers = [ask(n) for n in ("_is_amx_tile_supported", "_is_avx512_bf16_supported", "_is_amx_fp16_supported")]
    if all(a is not None for a in answers[:2]):
        return CpuKind(bool(answers[0]), bool(answers[1]), bool(answers[2]), "torch probes")
    flags = _cpuinfo_flags(cpuinfo)
    return CpuKind("amx_bf16" in flags, "avx512_bf16" in flags, "amx_fp16" in flags, "/proc/cpuinfo")


@cache
def cpu_kind() -> CpuKind:
    return detect_cpu()


def cpu_has_fast_bf16() -> bool:
    """True only where the CPU computes bf16 natively (AMX or AVX512-BF16)."""
    return cpu_kind().native_bf16


def canonical_arch(arch: str) -> str:
    return ARCH_ALIASES.get(arch, arch)


def cpu_policy(arch: str, kind: CpuKind | None = None) -> str:
    """The precision the measured table gives this architecture on this CPU, before the
    start-up timing confirms it."""
    reduced = CPU_REDUCED.get(canonical_arch(arch))
    if reduced == "bf16" and (kind or cpu_kind()).native_bf16:
        return "bf16"
    return "fp32"


def _time_convs(rounds: int = 16) -> tuple[float, float]:
    """Fastest seconds of one 64-channel 3x3 conv (the op that dominates both families) in fp32
    and in bf16 autocast, channels_last, interleaved, on one thread. One thread and the minimum:
    on a shared machine a descheduled thread only ever adds time (with two threads, every call
    waits for the slower one, and on a busy host no call ran clean), so the minimum of
    single-thread calls is what the ISA can do, which is the question asked here."""
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).eval().to(memory_format=torch.channels_last)
    x = torch.rand(1, 64, 96, 96).contiguous(memory_format=torch.channels_last)
    best = {"fp32": float("inf"), "bf16": float("inf")}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            for i in range(rounds + 3):
                for precision in best:
                    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                        t = time.perf_counter()
                        conv(x)
                        elapsed = time.perf_counter() - t
                    if i >= 3:  # the first calls build oneDNN kernels and reorder weights
                        best[precision] = min(best[precision], elapsed)
    finally:
        torch.set_num_threads(threads)
    return best["fp32"], best["bf16"]


@dataclass(frozen=True)
class Confirmation:
    speedup: float
    taken: bool


_confirm_lock = threading.Lock()
_confirmed: Confirmation | None = None
# Tests replace this to simulate CPUs where bf16 is slow despite the flags (e.g. a VM hiding AMX).
conv_timer: Callable[[], tuple[float, float]] = _time_convs


def confirm_bf16() -> Confirmation:
    """Once per process: is bf16 really faster here? Flags can lie (VMs, oneDNN ISA limits)."""
    global _confirmed
    with _confirm_lock:
        if _confirmed is None:
            fp32, bf16 = conv_timer()
            if bf16 <= fp32 < CONFIRM_MIN_SPEEDUP * bf16:
                # A close call against native bf16 is the surprising answer: measure once more
                # before rejecting. bf16 slower than fp32 outright is no close call (0.53x on the
                # VM in MEASURED's note): a second reading would only add 0.2 s to every start.
                again = conv_timer()
                fp32, bf16 = min(fp32, again[0]), min(bf16, again[1])
            speedup = fp32 / max(bf16, 1e-9)
            _confirmed = Confirmation(speedup, speedup >= CONFIRM_MIN_SPEEDUP)
        return _confirmed


def reset_confirmation() -> None:
    global _confirmed
    with _confirm_lock:
        _confirmed = None
    _logged.clear()


_logged: set[tuple[str, str, str]] = set()


def _log_once(arch: str, device: str, precision: str, why: str) -> None:
    key = (arch, device, precision)
    if key not in _logged:
        _logged.add(key)
        log.info("precision for %s on %s: %s+channels_last (%s)", arch, device, precision, why)


def resolve_device(requested: str) -> str:
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise EngineError("ARTNEX_DEVICE=cuda but no CUDA device is available")
    return requested


def resolve_precision(
    requested: str, device: str, supports_half: bool, supports_bf16: bool, arch: str = "unknown"
) -> str:
    """Pick the fastest precision that stays faithful on this hardware for this network."""
    arch = canonical_arch(arch)
    if requested == "fp32":
        return "fp32"
    if device.startswith("cuda"):
        # fp16 keeps 11 mantissa bits: it passes the rule on every crop for every family. bf16
        # (8 bits) fails on RRDBNet, so it is never the fallback there.
        bf16_ok = supports_bf16 and torch.cuda.is_bf16_supported() and arch != RRDBNET
        if requested == "auto":
            chosen = "fp16" if supports_half else "bf16" if bf16_ok else "fp32"
            _log_once(arch, device, chosen, "CUDA policy")
            return chosen
        if requested == "fp16" and supports_half:
            return "fp16"
        if requested == "bf16" and supports_bf16 and torch.cuda.is_bf16_supported():
            if arch == RRDBNET:
                log.warning("bf16 requested for RRDBNet: it exceeds the fidelity rule on fine texture")
            return "bf16"
        log.warning("precision %s not supported by this model/GPU; using fp32", requested)
        return "fp32"
    # CPU
    if requested == "auto":
        if not supports_bf16 or cpu_policy(arch) != "bf16":
            why = "measured policy" if cpu_has_fast_bf16() else f"CPU: {cpu_kind().name}"
            _log_once(arch, device, "fp32", why)
            return "fp32"
        confirmation = confirm_bf16()
        chosen = "bf16" if confirmation.taken else "fp32"
        _log_once(arch, device, chosen, f"bf16 conv measured {confirmation.speedup:.1f}x fp32 at start-up, "
                  f"needs {CONFIRM_MIN_SPEEDUP}x")
        return chosen
    if requested == "bf16" and supports_bf16:
        if not cpu_has_fast_bf16():
            log.warning("bf16 requested on a CPU without native bf16; it will be slow")
        if arch == RRDBNET:
            log.warning("bf16 requested for RRDBNet: it exceeds the fidelity rule on fine texture")
        return "bf16"
    # fp16 on CPU has no fast kernels on the CPUs we deploy on (see MEASURED).
    log.warning("precision %s is not used on the CPU; using fp32", requested)
    return "fp32"


# --- threads ---------------------------------------------------------------------------------

CGROUP_ROOT = Path("/sys/fs/cgroup")
# The Procfile passes this to celery as --concurrency, so each of its processes takes its share.
WORKER_PROCESSES_ENV = "ARTNEX_WORKER_CONCURRENCY"


def _own_cgroup_dirs(root: Path, proc_cgroup: Path) -> list[Path]:
    """Candidate directories holding this process's CPU limits: its own cgroup (v2 path or v1
    cpu controller path), then the mount root (what containers usually show)."""
    dirs: list[Path] = []
    try:
        lines = proc_cgroup.read_text(encoding="ascii").splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, rel = parts
        rel = rel.lstrip("/")
        if controllers == "":  # cgroup v2 unified hierarchy
            dirs.append(root / rel)
        elif "cpu" in controllers.split(","):
            for mount in ("cpu,cpuacct", "cpu", "cpuacct,cpu"):
                dirs.append(root / mount / rel)
    dirs += [root, root / "cpu,cpuacct", root / "cpu"]
    return dirs


def cgroup_cpu_quota(root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> float | None:
    """CPUs' worth of quota from cgroup v2 (cpu.max) or v1 (cpu.cfs_quota_us/period_us)."""
    for d in _own_cgroup_dirs(root, proc_cgroup):
        try:
            quota, period = (d / "cpu.max").read_text(encoding="ascii").split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        except (OSError, ValueError):
            pass
        try:
            q = int((d / "cpu.cfs_quota_us").read_text(encoding="ascii").strip())
            p = int((d / "cpu.cfs_period_us").read_text(encoding="ascii").strip())
            return None if q <= 0 else q / p
        except (OSError, ValueError):
            pass
    return None


def available_cpus(root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> int:
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        count = os.cpu_count() or 1
    quota = cgroup_cpu_quota(root, proc_cgroup)
    if quota:
        count = min(count, max(1, int(quota + 0.5)))
    return max(1, count)


def worker_processes(environ: dict[str, str] | None = None) -> int:
    raw = (os.environ if environ is None else environ).get(WORKER_PROCESSES_ENV, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


def thread_share(cpus: int, processes: int) -> int:
    """This process's share: `--concurrency 2` on 2 CPUs gives each process one thread, not two
    (oversubscribed oneDNN threads spin against each other and cost ~2x)."""
    return max(1, cpus // max(1, processes))


def configure_threads(threads: int | None) -> int:
    """Set intra-op threads once: ARTNEX_THREADS, else OMP_NUM_THREADS, else our CPU share."""
    if threads is None:
        env = os.environ.get("OMP_NUM_THREADS")
        threads = int(env) if env and env.isdigit() else thread_share(available_cpus(), worker_processes())
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
