"""Choose the device, precision and CPU thread count for this process."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cache

import torch

from .errors import EngineError

log = logging.getLogger(__name__)


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


@cache
def cpu_has_fast_bf16() -> bool:
    """True only where the CPU computes bf16 natively (AMX or AVX512-BF16).

    Without it, bf16 autocast is emulated and both slower and less faithful than fp32, so the
    engine must not choose it on, e.g., an AVX2-only EPYC.
    """
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        fn = getattr(torch.cpu, probe, None)
        if fn is not None:
            try:
                if fn():
                    return True
            except RuntimeError:
                pass
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            flags = next((line for line in fh if line.startswith("flags")), "")
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def resolve_device(requested: str) -> str:
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise EngineError("ARTNEX_DEVICE=cuda but no CUDA device is available")
    return requested


def resolve_precision(requested: str, device: str, supports_half: bool, supports_bf16: bool) -> str:
    """Pick the fastest precision that stays faithful on this hardware for this network."""
    if requested == "fp32":
        return "fp32"
    if device.startswith("cuda"):
        bf16_ok = supports_bf16 and torch.cuda.is_bf16_supported()
        if requested == "auto":
            # fp16 has more mantissa (closer to fp32); the NaN/inf guard covers its range.
            return "fp16" if supports_half else "bf16" if bf16_ok else "fp32"
        if requested == "fp16" and supports_half:
            return "fp16"
        if requested == "bf16" and bf16_ok:
            return "bf16"
        log.warning("precision %s not supported by this model/GPU; using fp32", requested)
        return "fp32"
    # CPU
    if requested == "auto":
        return "bf16" if supports_bf16 and cpu_has_fast_bf16() else "fp32"
    if requested == "bf16" and supports_bf16:
        if not cpu_has_fast_bf16():
            log.warning("bf16 requested on a CPU without native bf16; it will be slow")
        return "bf16"
    # fp16 on CPU has no fast kernels anywhere we deploy.
    log.warning("precision %s is not used on the CPU; using fp32", requested)
    return "fp32"


def available_cpus() -> int:
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        count = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota:
        count = min(count, max(1, int(quota + 0.5)))
    return max(1, count)


def _cgroup_cpu_quota() -> float | None:
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as fh:
            quota, period = fh.read().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return int(quota) / int(period)


def configure_threads(threads: int | None) -> int:
    """Set intra-op threads once: one per CPU we may use (oversubscription costs ~2x)."""
    if threads is None:
        env = os.environ.get("OMP_NUM_THREADS")
        threads = int(env) if env and env.isdigit() else available_cpus()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
