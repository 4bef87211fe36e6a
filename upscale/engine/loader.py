"""Load a network through spandrel once per process and keep it (thread-safe cache)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from .allocator import tune_glibc_malloc
from .config import EngineConfig
from .device import RRDBNET, SRVGG, Placement, configure_threads, resolve_device, resolve_precision
from .errors import EngineError
from .registry import ModelSpec, lookup
from .spandrel_import import import_spandrel
from .weights import ensure_weights

# Before the first `from spandrel import`: spandrel's registry would otherwise import torchvision
# and torch._dynamo, 1.0-1.2 s of every worker and `manage.py upscale` start.
import_spandrel()

from spandrel import (  # noqa: E402
    ImageModelDescriptor,
    ModelLoader,
    UnsupportedModelError,
    canonicalize_state_dict,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArchProfile:
    # Peak activation memory per input pixel of one window, fp32, channels_last, measured as
    # peak-RSS growth (bench/engine.py): RRDBNet 7.9-8.6 KB (64..192-channel maps at input
    # size plus 64-channel maps at 2x and 4x), SRVGG about 0.9 KB. Measured plus ~20-30%.
    bytes_per_input_pixel: int
    # Real pixels of context around each tile core. Measured with the real weights, tiles of 32:
    # RRDBNet 32 px -> 56 dB but 0.18% of values off by >2/255, 40 px -> 63 dB but fp32 tiled
    # already 0.095% on fine texture (no margin), 48 px -> see tests/engine/test_fidelity.py,
    # which asserts the margin; SRVGG 16 px -> 64 dB, 0.011%; 24 px -> 75 dB, none.
    context: int


ARCH_PROFILES = {RRDBNET: ArchProfile(10_000, 48), SRVGG: ArchProfile(1_200, 24)}
# Unknown operator architectures: assume the worst of the known ones, plus margin.
DEFAULT_PROFILE = ArchProfile(12_000, 56)


@dataclass
class LoadedModel:
    spec: ModelSpec
    path: Path
    module: torch.nn.Module
    scale: int
    arch: str
    placement: Placement
    multiple_of: int
    profile: ArchProfile


_cache: dict[tuple[str, str, str, str], LoadedModel] = {}
_lock = threading.Lock()


def get_model(spec: ModelSpec, config: EngineConfig, precision: str | None = None) -> LoadedModel:
    """The cached model for (model, device, precision); loads it on first use."""
    device = resolve_device(config.device)
    path = config.model_dir / spec.file
    # Precision depends on the network (spandrel knows fp16/bf16 support), so the cache key
    # uses the *requested* precision; the entry records what was actually chosen.
    requested = precision or config.precision
    key = (spec.name, str(path), device, requested)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            return hit
        configure_threads(config.threads)
        if not device.startswith("cuda"):
            tune_glibc_malloc()
        path = ensure_weights(spec, config.model_dir, config.allow_download)
        loaded = _load(spec, path, device, requested)
        _cache[key] = loaded
        return loaded


def get_model_by_name(name: str, config: EngineConfig, precision: str | None = None) -> LoadedModel:
    return get_model(lookup(name, config.extra_models), config, precision)


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def _load(spec: ModelSpec, path: Path, device: str, requested: str) -> LoadedModel:
    try:
        # weights_only: a .pth file is a pickle; never execute code from a weights file.
        state = torch.load(path, map_location="cpu", weights_only=True)
        descriptor = ModelLoader("cpu").load_from_state_dict(canonicalize_state_dict(state))
    except UnsupportedModelError as exc:
        raise EngineError(f"{path} is not an architecture spandrel can load") from exc
    except Exception as exc:
        raise EngineError(f"cannot load weights {path}: {exc}") from exc
    if not isinstance(descriptor, ImageModelDescriptor):
        raise EngineError(f"{path} is not a single-image super-resolution model")
    if descriptor.input_channels != 3 or descriptor.output_channels != 3:
        raise EngineError(f"{path} must take and produce RGB images")
    if spec.arch != "auto" and descriptor.scale != spec.scale:
        raise EngineError(f"{path} is an x{descriptor.scale} network, registry says x{spec.scale}")

    arch = descriptor.architecture.id
    precision = resolve_precision(
        requested, device, descriptor.supports_half, descriptor.supports_bfloat16, arch
    )
    placement = Placement(device, precision)
    if placement.is_cuda:
        # Every window has one shape, so cuDNN's per-shape autotuning pays off after one call.
        torch.backends.cudnn.benchmark = True
    module = descriptor.model.eval().requires_grad_(False)
    if placement.is_cuda and precision != "fp32":
        module = module.to(device=device, dtype=placement.dtype)
    else:
        # CPU bf16 runs under autocast with fp32 master weights (measured faster than casting).
        module = module.to(device=device)
    # channels_last lets oneDNN pick its blocked conv kernels without reorders per layer.
    module = module.to(memory_format=torch.channels_last)
    log.info(
        "loaded %s (%s x%d) from %s on %s/%s", spec.name, arch, descriptor.scale, path, device, precision
    )
    return LoadedModel(
        spec=spec,
        path=path,
        module=module,
        scale=descriptor.scale,
        arch=arch,
        placement=placement,
        multiple_of=descriptor.size_requirements.multiple_of,
        profile=ARCH_PROFILES.get(arch, DEFAULT_PROFILE),
    )
