"""Size tiles and batches from the memory this process can actually use."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .loader import LoadedModel

GiB = 1 << 30
# CPU: a worker shares the host with other workers and with the output buffers, so a tile may
# use at most this much activation memory. 1 GiB keeps a 2000x2000 x4 job far under 2.5 GB RSS.
CPU_TILE_BUDGET = 1 * GiB
CPU_MAX_TILE = 512
CUDA_MAX_TILE = 1024
CUDA_MAX_BATCH = 16


def _cpu_available() -> int:
    avail = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    except OSError:
        pass
    cgroup = _cgroup_headroom()
    candidates = [v for v in (avail, cgroup) if v is not None]
    return min(candidates) if candidates else 4 * GiB


def _cgroup_headroom() -> int | None:
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as fh:
            limit = fh.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as fh:
            used = int(fh.read().strip())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(0, int(limit) - used)


def tile_budget(model: LoadedModel) -> int:
    if model.placement.is_cuda:
        free, _total = torch.cuda.mem_get_info(torch.device(model.placement.device))
        return int(free * 0.6)
    return min(CPU_TILE_BUDGET, int(_cpu_available() * 0.3))


def _bytes_per_pixel(model: LoadedModel) -> float:
    # Activations scale with the element size; the estimates are for fp32.
    factor = 0.5 if model.placement.is_cuda and model.placement.precision != "fp32" else 1.0
    return model.profile.bytes_per_input_pixel * factor


def choose_tile(model: LoadedModel, height: int, width: int, context: int) -> int:
    """Largest tile core whose window fits the budget; bigger tiles waste less on context."""
    side = int(math.sqrt(tile_budget(model) / _bytes_per_pixel(model)))
    cap = CUDA_MAX_TILE if model.placement.is_cuda else CPU_MAX_TILE
    tile = max(32, min(cap, side - 2 * context))
    return tile - tile % 16


def choose_batch(model: LoadedModel, win_h: int, win_w: int) -> int:
    """Batch windows on GPUs only: on the CPU one window already keeps every core busy."""
    if not model.placement.is_cuda:
        return 1
    per_window = win_h * win_w * _bytes_per_pixel(model)
    return max(1, min(CUDA_MAX_BATCH, int(tile_budget(model) // per_window)))
