"""Decode customer images upright, split them into planes the network takes, encode results."""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .errors import UnsupportedImage

log = logging.getLogger(__name__)

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
ALIASES = {"JPG": "JPEG", "JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}
WEBP_MAX_SIDE = 16383
GPS_IFD = 0x8825
EXIF_IFD = 0x8769
EXIF_PIXEL_DIMENSIONS = (0xA002, 0xA003)


@dataclass
class Planes:
    """What the network sees: rgb (3, H, W) float32 in [0, 1], plus what to rebuild on output."""

    rgb: np.ndarray
    alpha: np.ndarray | None  # (H, W) float32 in [0, 1], None when opaque
    gray: bool
    bits: int  # 8 or 16


@dataclass
class Decoded:
    image: Image.Image
    format: str | None
    icc_profile: bytes | None
    exif: Image.Exif | None


def decode(data: bytes) -> Decoded:
    try:
        with warnings.catch_warnings():
            # Decompression-bomb limits are the service's job (it validates pixel counts first).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format
            img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedImage(f"cannot decode image: {exc}") from exc
    icc = img.info.get("icc_profile")
    # exif_transpose rotates the pixels and clears the Orientation tag in the copy's EXIF.
    upright = ImageOps.exif_transpose(img)
    exif = upright.getexif() if "exif" in upright.info or len(upright.getexif()) else None
    return Decoded(upright, fmt, icc, exif)


def to_planes(img: Image.Image) -> tuple[Planes, bytes | None]:
    """Split any Pillow mode into RGB + optional alpha; returns the ICC profile still valid."""
    icc = img.info.get("icc_profile")
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # Pillow decodes 16-bit grayscale PNG as I;16 ("I" for some older files).
        gray = np.clip(np.asarray(img, dtype=np.float32), 0, 65535) / 65535.0
        return Planes(np.repeat(gray[None], 3, axis=0), None, True, 16), icc
    if mode == "CMYK":
        img, icc = _cmyk_to_rgb(img, icc)
        mode = "RGB"
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("PA", "RGBa", "RGBX", "YCbCr", "LAB", "HSV"):
        img = img.convert("RGBA" if mode in ("PA", "RGBa") else "RGB")
    elif mode == "1":
        img = img.convert("L")
    elif mode == "La" or (mode == "L" and "transparency" in img.info):
        img = img.convert("LA")
    elif mode == "RGB" and "transparency" in img.info:
        img = img.convert("RGBA")
    elif mode == "F":
        raise UnsupportedImage("floating-point images are not supported")
    mode = img.mode
    if mode not in ("RGB", "RGBA", "L", "LA"):
        raise UnsupportedImage(f"unsupported image mode {mode}")
    arr = np.asarray(img, dtype=np.float32) / 255.0
    if arr.ndim == 2:
        arr = arr[..., None]
    color = arr[..., :3] if mode.startswith("RGB") else np.repeat(arr[..., :1], 3, axis=2)
    alpha = arr[..., -1] if mode in ("RGBA", "LA") else None
    planes = Planes(np.ascontiguousarray(color.transpose(2, 0, 1)), alpha, mode.startswith("L"), 8)
    return planes, icc


def _cmyk_to_rgb(img: Image.Image, icc: bytes | None) -> tuple[Image.Image, bytes | None]:
    # A CMYK profile cannot describe RGB pixels: convert through it to sRGB and drop it.
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.createProfile("sRGB")
            out = ImageCms.profileToProfile(img, src, dst, outputMode="RGB")
            return out, ImageCms.ImageCmsProfile(dst).tobytes()
        except (ImageCms.PyCMSError, OSError) as exc:
            log.info("CMYK ICC conversion failed (%s); using the naive conversion", exc)
    return img.convert("RGB"), None


def from_planes(rgb: np.ndarray, alpha: np.ndarray | None, gray: bool, bits: int) -> Image.Image:
    """rgb: (H, W, 3) uint8/uint16, alpha: (H, W) of the same dtype or None."""
    if bits == 16:
        # BT.601 luma, as the reference converts its RGB output back to gray.
        luma = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
        return Image.fromarray(np.clip(np.rint(luma), 0, 65535).astype(np.uint16))
    if gray:
        luma = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
        lum = np.clip(np.rint(luma), 0, 255).astype(np.uint8)
        if alpha is None:
            return Image.fromarray(lum, mode="L")
        return Image.fromarray(np.dstack([lum, alpha]), mode="LA")
    if alpha is None:
        return Image.fromarray(rgb, mode="RGB")
    return Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA")


def output_format(input_format: str | None, requested: str | None, has_alpha: bool) -> str:
    if requested:
        fmt = ALIASES.get(requested.strip().upper().lstrip("."))
        if fmt is None:
            raise UnsupportedImage(f"unsupported output format {requested!r}")
    else:
        fmt = input_format if input_format in FORMATS else "PNG"
    if fmt == "JPEG" and has_alpha:
        fmt = "PNG"  # JPEG cannot carry transparency; silently flattening would lose it
    return fmt


def encode(
    img: Image.Image, fmt: str, icc: bytes | None, exif: Image.Exif | None, keep_gps: bool = False
) -> tuple[bytes, str]:
    """Encode img; returns (bytes, the format actually written)."""
    if fmt == "WEBP" and max(img.size) > WEBP_MAX_SIDE:
        log.info("%sx%s exceeds WebP's limit; writing PNG", *img.size)
        fmt = "PNG"
    img = _mode_for(img, fmt)
    params: dict[str, object] = {}
    if icc:
        params["icc_profile"] = icc
    exif_bytes = _clean_exif(exif, img.size, keep_gps)
    if exif_bytes:
        params["exif"] = exif_bytes
    if fmt == "JPEG":
        params.update(quality=95, subsampling=0)
    elif fmt == "WEBP":
        params.update(quality=95, method=4)
    else:
        # Level 3 is within a few percent of level 6 in size on photos and several times faster.
        params.update(compress_level=3)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue(), fmt


def _mode_for(img: Image.Image, fmt: str) -> Image.Image:
    if fmt == "PNG":
        return img
    if img.mode.startswith("I;16"):
        # JPEG and WebP are 8-bit formats: round, do not truncate.
        arr = np.asarray(img, dtype=np.float32) / 257.0
        img = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), mode="L")
    if fmt == "WEBP" and img.mode in ("L", "LA"):
        return img.convert("RGBA" if img.mode == "LA" else "RGB")
    return img


def _clean_exif(exif: Image.Exif | None, size: tuple[int, int], keep_gps: bool) -> bytes | None:
    """Keep camera/copyright metadata, drop location unless asked, fix what upscaling changed."""
    if exif is None or (len(exif) == 0 and not exif.get_ifd(EXIF_IFD)):
        return None
    if not keep_gps and GPS_IFD in exif:
        del exif[GPS_IFD]
    exif[0x0112] = 1  # pixels are already upright
    sub = exif.get_ifd(EXIF_IFD)
    for tag, value in zip(EXIF_PIXEL_DIMENSIONS, size, strict=True):
        if tag in sub:
            sub[tag] = value
    return exif.tobytes()
