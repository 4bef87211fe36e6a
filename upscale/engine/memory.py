"""Size tiles and batches from the memory this process can actually use."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from .device import worker_processes

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


# CUDA: the share of device memory a window batch may use, and what each process keeps for
# cuDNN workspaces, fragmentation and the output of the batch.
CUDA_USABLE = 0.8


def cuda_budget(device: str, processes: int | None = None) -> int:
    """Bytes this process may spend on one batch's activations on `device`.

    mem_get_info's free memory is device-wide, so other processes' use is already subtracted;
    what PyTorch holds cached but unallocated in *this* process is reusable and added back.
    Where several worker processes share the GPU, each keeps to its share of the device so that
    the first to start cannot take what the others need (its own allocated tensors, the
    weights, count against that share).
    """
    dev = torch.device(device)
    free, total = torch.cuda.mem_get_info(dev)
    reserved = torch.cuda.memory_reserved(dev)
    allocated = torch.cuda.memory_allocated(dev)
    reusable = max(0, reserved - allocated)
    procs = processes if processes is not None else worker_processes()
    share = int(total * CUDA_USABLE / max(1, procs)) - allocated
    return max(0, min(int((free + reusable) * CUDA_USABLE), share))


def tile_budget(model: LoadedModel) -> int:
    if model.placement.is_cuda:
        return cuda_budget(model.placement.device)
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
