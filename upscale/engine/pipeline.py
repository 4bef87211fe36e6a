"""The engine function the workers, `manage.py upscale` and the benchmarks share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from . import imageio
from .alpha import bleed_transparent
from .catalog import MAX_SCALE, MIN_SCALE, default_config, resolve_model_name, target_size
from .config import EngineConfig
from .device import confirm_bf16, cpu_has_fast_bf16, resolve_device
from .errors import EngineError
from .loader import LoadedModel, get_model
from .registry import BUILTIN_MODELS, X2_SUBSTITUTES, ModelSpec, lookup
from .runtime import Progress, upscale_planes
from .stages import stage

log = logging.getLogger(__name__)

OUTPUT_FORMATS = {"jpeg": "JPEG", "jpg": "JPEG", "png": "PNG", "webp": "WEBP"}


@dataclass
class UpscaleResult:
    data: bytes
    format: str  # "JPEG" | "PNG" | "WEBP"
    mime: str
    extension: str  # "jpg" | "png" | "webp"
    width: int
    height: int
    model: str


def warm_up(config: EngineConfig | None = None, model_name: str | None = None) -> None:
    """Load and cache the model in this process and build its kernels before the first job."""
    config = config or default_config()
    if not loaded_on_cuda(config) and cpu_has_fast_bf16():
        # Settle (and log) whether bf16 really is faster here now, not on the first SRVGG job.
        confirm_bf16()
    loaded = get_model(lookup(resolve_model_name(model_name, config), config.extra_models), config)
    upscale_planes(loaded, torch.rand(3, 32, 32), tile=32)


def loaded_on_cuda(config: EngineConfig) -> bool:
    return resolve_device(config.device).startswith("cuda")


def _spec_for_scale(spec: ModelSpec, scale: float, config: EngineConfig) -> ModelSpec:
    """Scale <= 2 on x4plus runs the x2 network where it is installed (better and 4x cheaper).

    Only for the official x4plus: an operator who registered their own network under that name
    (a fine-tune, say) asked for it, and the official x2 would silently replace it. An operator
    entry for the x2 name is used as the twin, with its own file.
    """
    twin_name = X2_SUBSTITUTES.get(spec.name)
    if twin_name is None or scale > 2 or spec not in BUILTIN_MODELS:
        return spec
    twin = lookup(twin_name, config.extra_models)
    return twin if (config.model_dir / twin.file).is_file() else spec


def upscale_image(
    img: Image.Image,
    scale: float,
    *,
    config: EngineConfig | None = None,
    model: str | None = None,
    tile: int | None = None,
    progress: Progress | None = None,
) -> Image.Image:
    """Upscale an upright Pillow image to exactly round(w*scale) x round(h*scale).

    The result keeps the kind of the input (gray stays gray, alpha stays, 16-bit gray stays
    16-bit); palette and CMYK come back as RGB(A). info["icc_profile"] is the profile that
    describes the result's pixels. info["artnex_model"] names the network that ran.
    """
    config = config or default_config()
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise EngineError(f"scale must be between {MIN_SCALE:g} and {MAX_SCALE:g}, not {scale}")
    spec = _spec_for_scale(lookup(resolve_model_name(model, config), config.extra_models), scale, config)
    loaded = get_model(spec, config)
    planes, icc = imageio.to_planes(img)
    out = _run_planes(loaded, planes, config, tile or config.tile, progress)
    size = target_size(img.width, img.height, scale)
    if out.size != size:
        with stage("resample"):
            out = _resample(out, size)
    if icc:
        out.info["icc_profile"] = icc
    out.info["artnex_model"] = spec.name
    return out


def _run_planes(
    loaded: LoadedModel,
    planes: imageio.Planes,
    config: EngineConfig,
    tile: int | None,
    progress: Progress | None,
) -> Image.Image:
    def fallback() -> LoadedModel:
        return get_model(loaded.spec, config, "fp32")

    alpha = planes.alpha
    alpha_varies = alpha is not None and float(alpha.min()) < 1.0
    passes = 2 if alpha_varies else 1

    def report(k: int) -> Progress | None:
        if progress is None:
            return None
        return lambda done, total: progress(k * total + done, passes * total)

    rgb = torch.from_numpy(planes.rgb)
    if alpha_varies:
        rgb = bleed_transparent(rgb, torch.from_numpy(alpha))
    out_rgb = upscale_planes(loaded, rgb, bits=planes.bits, tile=tile, progress=report(0), fallback=fallback)
    out_alpha = None
    if alpha is not None:
        h, w = out_rgb.shape[:2]
        if alpha_varies and config.alpha == "lanczos":
            out_alpha = _lanczos_alpha(alpha, (w, h), planes.bits)
        elif alpha_varies:
            # The reference upscales alpha with the same network, as a gray image.
            a = torch.from_numpy(np.ascontiguousarray(np.broadcast_to(alpha, (3, *alpha.shape))))
            a_out = upscale_planes(loaded, a, bits=planes.bits, tile=tile, progress=report(1), fallback=fallback)
            out_alpha = _snap_alpha(np.ascontiguousarray(a_out[..., 1]), planes.bits)
        else:
            opaque = (1 << planes.bits) - 1
            out_alpha = np.full((h, w), opaque, dtype=np.uint16 if planes.bits == 16 else np.uint8)
    return imageio.from_planes(out_rgb, out_alpha, planes.gray, planes.bits)


def _lanczos_alpha(alpha: np.ndarray, size: tuple[int, int], bits: int) -> np.ndarray:
    """ARTNEX_ALPHA=lanczos: alpha resized with Lanczos in float (no network pass)."""
    top = 65535.0 if bits == 16 else 255.0
    with stage("alpha"):
        wide = Image.fromarray(np.ascontiguousarray(alpha, dtype=np.float32), mode="F")
        out = np.asarray(wide.resize(size, Image.Resampling.LANCZOS))
        q = np.clip(np.rint(out * top), 0, top).astype(np.uint16 if bits == 16 else np.uint8)
    return _snap_alpha(q, bits)


def _snap_alpha(alpha: np.ndarray, bits: int) -> np.ndarray:
    """The network lands near, not on, 0 and 1: snap what an 8-bit result would round to fully
    transparent or opaque, so that opaque regions stay exactly opaque at 16 bits as at 8."""
    if bits == 16:
        margin = 65535 // 510  # half of one 8-bit step
        alpha[alpha <= margin] = 0
        alpha[alpha >= 65535 - margin] = 65535
    return alpha


def _output_format(name: str | None) -> str | None:
    if name is None:
        return None
    fmt = OUTPUT_FORMATS.get(name.strip().lower().lstrip("."))
    if fmt is None:
        raise EngineError(f"output_format must be one of jpeg, png, webp, not {name!r}")
    return fmt


def _resample(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Lanczos to the exact size, as the reference does when outscale != network scale."""
    if img.mode == "I;16":
        # Pillow resamples 32-bit integer images with every filter; come back to 16 bits after.
        wide = img.convert("I").resize(size, Image.Resampling.LANCZOS)
        arr = np.clip(np.asarray(wide), 0, 65535).astype(np.uint16)
        return Image.fromarray(arr)
    # For RGBA/LA Pillow premultiplies before filtering, so no dark halos at alpha edges.
    return img.resize(size, Image.Resampling.LANCZOS)


def upscale_bytes(
    data: bytes,
    scale: float,
    *,
    config: EngineConfig | None = None,
    model: str | None = None,
    output_format: str | None = None,
    tile: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    out_format: str | None = None,
) -> UpscaleResult:
    """Decode, upscale and re-encode one customer image (the engine's single entry point).

    output_format: "jpeg" | "png" | "webp", or None to follow the input (PNG for other inputs).
    Transparency asked for as JPEG is flattened onto white: the customer chose a format without
    alpha, and white is what viewers show behind transparent pixels. Following a JPEG input never
    meets alpha. WebP beyond 16383 pixels a side is written as PNG (UpscaleResult.format says so).
    out_format is the earlier name of output_format, still accepted from existing callers.
    """
    config = config or default_config()
    if output_format is not None and out_format is not None and output_format != out_format:
        raise EngineError(f"output_format {output_format!r} and out_format {out_format!r} disagree")
    requested = _output_format(output_format if output_format is not None else out_format)
    with stage("decode"):
        decoded = imageio.decode(data)
    out = upscale_image(decoded.image, scale, config=config, model=model, tile=tile, progress=progress)
    fmt = requested or imageio.output_format(decoded.format, None, out.mode in ("RGBA", "LA"))
    with stage("encode"):
        if fmt == "JPEG" and out.mode in ("RGBA", "LA"):
            out = imageio.flatten_on_white(out)
        payload, fmt = imageio.encode(out, fmt, out.info.get("icc_profile"), decoded.exif, config.keep_gps)
    mime, ext = imageio.FORMATS[fmt]
    return UpscaleResult(payload, fmt, mime, ext, out.width, out.height, out.info["artnex_model"])
