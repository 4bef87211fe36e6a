"""Decode customer images upright, split them into planes the network takes, encode results."""

from __future__ import annotations

import io
import logging
import struct
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .catalog import FORMATS
from .errors import EngineError, UnsupportedImage

log = logging.getLogger(__name__)

ALIASES = {"JPG": "JPEG", "JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}
WEBP_MAX_SIDE = 16383
GPS_IFD = 0x8825
EXIF_IFD = 0x8769
EXIF_PIXEL_DIMENSIONS = (0xA002, 0xA003)
EXIF_ORIENTATION = 0x0112
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_COLOUR_GRAY_ALPHA, PNG_COLOUR_RGB, PNG_COLOUR_RGBA = 4, 2, 6
# ICC header bytes 16-19: the colour space of the pixels the profile describes.
ICC_GRAY, ICC_RGB = b"GRAY", b"RGB "


class Image16(Image.Image):
    """A gray+alpha, RGB or RGBA image with 16 bits per channel, which Pillow has no mode for.

    It is an ordinary 8-bit Pillow image (the 16-bit pixels rounded: mode LA, RGB or RGBA), so
    code that does not know about it still sees the right size, mode and picture; the
    full-precision pixels are in `pixels16`, (H, W, 2|3|4) uint16 in LA/RGB(A) order. resize()
    and copy() keep 16 bits; other Pillow operations return plain 8-bit images.
    """

    pixels16: np.ndarray

    @classmethod
    def from_array(cls, pixels: np.ndarray, info: dict | None = None) -> Image16:
        if pixels.dtype != np.uint16 or pixels.ndim != 3 or pixels.shape[2] not in (2, 3, 4):
            raise ValueError(f"expected (H, W, 2|3|4) uint16 pixels, got {pixels.dtype} {pixels.shape}")
        base = Image.fromarray(_to_8bit(pixels))
        img = cls()
        img.im = base.im
        img._mode = base.mode
        img._size = base.size
        img.info = dict(info or {})
        img.pixels16 = np.ascontiguousarray(pixels)
        return img

    def __reduce__(self) -> tuple[object, tuple[np.ndarray, dict]]:
        # Pillow pickles the 8-bit pixels only; keep the 16-bit ones.
        return Image16.from_array, (self.pixels16, self.info)

    def copy(self) -> Image16:
        return Image16.from_array(self.pixels16.copy(), self._copy_info())

    def resize(
        self,
        size: tuple[int, int] | list[int] | npt.NDArray[Any],
        resample: int | None = None,
        box: tuple[float, float, float, float] | None = None,
        reducing_gap: float | None = None,
    ) -> Image.Image:
        if box is not None or reducing_gap is not None:
            return super().resize(size, resample, box, reducing_gap)  # rare: 8-bit
        size = (int(size[0]), int(size[1]))
        if size == self.size:
            return self.copy()
        resample = Image.Resampling.BICUBIC if resample is None else resample
        return Image16.from_array(_resize16(self.pixels16, size, resample), self._copy_info())


def _to_8bit(pixels: np.ndarray) -> np.ndarray:
    """uint16 -> uint8, rounded (x / 257 is never exactly halfway)."""
    return ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)


def _resize16(pixels: np.ndarray, size: tuple[int, int], resample: int) -> np.ndarray:
    """Per-channel float resize; colour premultiplied by alpha as Pillow does for RGBA."""
    f = pixels.astype(np.float32)
    has_alpha = f.shape[2] in (2, 4)
    if has_alpha:
        f[..., :-1] *= f[..., -1:] / 65535.0
    planes = (Image.fromarray(np.ascontiguousarray(f[..., c])) for c in range(f.shape[2]))  # mode "F"
    out = np.stack([np.asarray(p.resize(size, resample)) for p in planes], axis=-1)
    if has_alpha:
        a = np.clip(out[..., -1:], 0.0, 65535.0) / 65535.0
        out[..., :-1] = np.where(a > 0, out[..., :-1] / np.maximum(a, 1e-12), 0.0)
    return np.clip(np.rint(out), 0, 65535).astype(np.uint16)


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
    header = _png_header(data)
    if header is not None and header[2] == 16 and header[3] in (PNG_COLOUR_RGB, PNG_COLOUR_RGBA,
                                                                 PNG_COLOUR_GRAY_ALPHA):
        # Pillow would open RGB48/RGBA64 as 8-bit RGB(A) and 16-bit gray+alpha as 8-bit LA:
        # decode these with OpenCV instead.
        return _decode_png16(data, header[0], header[1], gray=header[3] == PNG_COLOUR_GRAY_ALPHA)
    try:
        with warnings.catch_warnings():
            # Decompression-bomb limits are the service's job (it validates pixel counts first).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format
            img.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedImage(f"cannot decode image: {exc}") from exc
    icc = img.info.get("icc_profile")
    # exif_transpose rotates the pixels and clears the Orientation tag in the copy's EXIF.
    upright = ImageOps.exif_transpose(img)
    exif = upright.getexif() if "exif" in upright.info or len(upright.getexif()) else None
    return Decoded(upright, fmt, icc, exif)


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, chunk start, chunk end) of each complete chunk; stops at IEND or truncation."""
    pos = len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > len(data):
            return
        yield ctype, pos, end
        if ctype == b"IEND":
            return
        pos = end


def _png_chunk_data(data: bytes, start: int, end: int) -> bytes:
    return data[start + 8 : end - 4]


def _png_header(data: bytes) -> tuple[int, int, int, int] | None:
    """(width, height, bit depth, colour type) from a PNG's IHDR, None if not a PNG."""
    if len(data) < 33 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, colour


def _png_chunk(data: bytes, ctype: bytes) -> bytes | None:
    for found, start, end in _png_chunks(data):
        if found == ctype:
            return _png_chunk_data(data, start, end)
    return None


def _decode_png16(data: bytes, width: int, height: int, gray: bool = False) -> Decoded:
    limit = Image.MAX_IMAGE_PIXELS
    if limit and width * height > limit:
        # OpenCV has no useful limit of its own: refuse bombs before allocating anything.
        raise UnsupportedImage(f"image is {width}x{height}, more than {limit} pixels")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # Lazy open: reads the chunks before IDAT (iCCP among them), decodes no pixels.
            with Image.open(io.BytesIO(data)) as meta:
                icc = meta.info.get("icc_profile")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedImage(f"cannot decode image: {exc}") from exc
    try:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise UnsupportedImage(f"cannot decode image: {exc}") from exc
    if pixels is None or pixels.dtype != np.uint16 or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise UnsupportedImage("cannot decode 16-bit PNG")
    # OpenCV turns an RGB tRNS colour key into a 4th (alpha) channel itself, and expands gray+alpha
    # to BGRA (three equal channels): keep one of them and the alpha.
    pixels = cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA if pixels.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    if gray and pixels.shape[2] == 4:
        pixels = np.ascontiguousarray(pixels[..., [0, 3]])
    exif = None
    raw_exif = _png_chunk(data, b"eXIf")
    if raw_exif:
        exif = Image.Exif()
        try:
            exif.load(raw_exif)
        except (OSError, SyntaxError, ValueError, struct.error) as exc:
            log.info("ignoring unreadable eXIf chunk: %s", exc)
            exif = None
    if exif is not None:
        pixels = _orient(pixels, exif.get(EXIF_ORIENTATION, 1))
        exif.pop(EXIF_ORIENTATION, None)  # pixels are upright now, as exif_transpose leaves it
    img = Image16.from_array(pixels)
    if icc:
        img.info["icc_profile"] = icc
    return Decoded(img, "PNG", icc, exif)


def _orient(pixels: np.ndarray, orientation: object) -> np.ndarray:
    """The numpy equivalent of ImageOps.exif_transpose for EXIF orientations 2..8."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation) if isinstance(orientation, int) else None
    return pixels if op is None else np.ascontiguousarray(op(pixels))


def to_planes(img: Image.Image) -> tuple[Planes, bytes | None]:
    """Split any Pillow mode into RGB + optional alpha; returns the ICC profile still valid."""
    icc = img.info.get("icc_profile")
    if isinstance(img, Image16):
        f = img.pixels16.astype(np.float32) / 65535.0
        if f.shape[2] == 2:  # 16-bit gray + alpha
            gray16 = np.repeat(f[None, ..., 0], 3, axis=0)
            return Planes(gray16, np.ascontiguousarray(f[..., 1]), True, 16), icc
        alpha16 = np.ascontiguousarray(f[..., 3]) if f.shape[2] == 4 else None
        return Planes(np.ascontiguousarray(f[..., :3].transpose(2, 0, 1)), alpha16, False, 16), icc
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
            assert out is not None  # None only with inPlace=True
            return out, ImageCms.ImageCmsProfile(dst).tobytes()
        except (ImageCms.PyCMSError, OSError) as exc:
            log.info("CMYK ICC conversion failed (%s); using the naive conversion", exc)
    return img.convert("RGB"), None


def from_planes(rgb: np.ndarray, alpha: np.ndarray | None, gray: bool, bits: int) -> Image.Image:
    """rgb: (H, W, 3) uint8/uint16, alpha: (H, W) uint8/uint16 or None."""
    if bits == 16 and not gray:
        if alpha is None:
            return Image16.from_array(rgb.astype(np.uint16, copy=False))
        if alpha.dtype == np.uint8:
            alpha = alpha.astype(np.uint16) * 257  # an 8-bit alpha pass, widened exactly
        return Image16.from_array(np.dstack([rgb.astype(np.uint16, copy=False), alpha.astype(np.uint16)]))
    if bits == 16:
        # BT.601 luma, as the reference converts its RGB output back to gray.
        luma = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
        lum16 = np.clip(np.rint(luma), 0, 65535).astype(np.uint16)
        if alpha is not None:
            if alpha.dtype == np.uint8:
                alpha = alpha.astype(np.uint16) * 257
            return Image16.from_array(np.dstack([lum16, alpha.astype(np.uint16)]))
        return Image.fromarray(lum16)
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
    if isinstance(img, Image16):
        if fmt == "PNG":
            icc = matching_profile(icc, img.mode)
            return _encode_png16(img.pixels16, icc, _clean_exif(exif, img.size, keep_gps)), fmt
        img = Image.fromarray(_to_8bit(img.pixels16))  # JPEG and WebP are 8-bit formats
    img = _mode_for(img, fmt)
    icc = matching_profile(icc, img.mode)
    # Always set: Pillow's PNG writer falls back to img.info's profile when none is given.
    params: dict[str, object] = {"icc_profile": icc}
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


def matching_profile(icc: bytes | None, mode: str) -> bytes | None:
    """The profile only if it describes pixels of this mode's colour space.

    A gray profile on RGB pixels (a gray input written as WebP, which has no gray mode) or an RGB
    profile on gray pixels is invalid and makes viewers misrender or ignore the image; no profile
    means sRGB, the right reading of a converted gray image.
    """
    if not icc:
        return None
    want = ICC_GRAY if mode in ("L", "LA", "I", "I;16", "I;16B", "I;16L", "1") else ICC_RGB
    space = icc[16:20] if len(icc) >= 20 else b""
    if space != want:
        log.info("dropping an ICC profile for %r pixels from a %s image", space.decode("latin-1"), mode)
        return None
    return icc


def flatten_on_white(img: Image.Image) -> Image.Image:
    """RGBA/LA (8 or 16 bits) -> RGB/L composited over white, for formats without alpha."""
    if isinstance(img, Image16):
        f = img.pixels16.astype(np.float32)
        a = f[..., -1:] / 65535.0
        colour = f[..., :-1] * a + 65535.0 * (1.0 - a)
        flat = np.clip(np.rint(colour), 0, 65535).astype(np.uint16)
        out: Image.Image = Image16.from_array(flat) if flat.shape[2] == 3 else Image.fromarray(flat[..., 0])
    else:
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        out = Image.alpha_composite(white, img.convert("RGBA")).convert("RGB" if img.mode == "RGBA" else "L")
    out.info = dict(img.info)
    return out


def _encode_png16(pixels: np.ndarray, icc: bytes | None, exif: bytes | None) -> bytes:
    if pixels.shape[2] == 2:
        buf = _encode_png_gray_alpha16(pixels)
    else:
        code = cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR
        ok, enc = cv2.imencode(".png", cv2.cvtColor(pixels, code), [cv2.IMWRITE_PNG_COMPRESSION, 3])
        if not ok:
            raise EngineError("OpenCV could not encode the 16-bit PNG")
        buf = enc.tobytes()
    chunks = []
    if icc:
        # Same profile name as Pillow writes; 0 = deflate, the only compression method.
        chunks.append((b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc)))
    if exif:
        chunks.append((b"eXIf", exif.removeprefix(b"Exif\x00\x00")))
    return _png_insert_chunks(buf, chunks)


def _encode_png_gray_alpha16(pixels: np.ndarray) -> bytes:
    """16-bit gray+alpha PNG (colour type 4), which neither OpenCV nor Pillow writes.

    Every row uses the Up filter (byte-wise difference with the row above, a cheap and good
    predictor for photos), then zlib level 3 as for the other PNGs.
    """
    h, w = pixels.shape[:2]
    raw = np.ascontiguousarray(pixels, dtype=">u2").reshape(h, w * 2).view(np.uint8)
    up = raw.copy()
    up[1:] -= raw[:-1]  # uint8 arithmetic wraps modulo 256, as the filter requires
    rows = np.hstack([np.full((h, 1), 2, dtype=np.uint8), up])
    ihdr = struct.pack(">IIBBBBB", w, h, 16, PNG_COLOUR_GRAY_ALPHA, 0, 0, 0)
    return b"".join([
        PNG_SIGNATURE,
        _png_chunk_bytes(b"IHDR", ihdr),
        _png_chunk_bytes(b"IDAT", zlib.compress(rows.tobytes(), 3)),
        _png_chunk_bytes(b"IEND", b""),
    ])


def _png_chunk_bytes(ctype: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(ctype + payload) & 0xFFFFFFFF
    return struct.pack(">I4s", len(payload), ctype) + payload + struct.pack(">I", crc)


def _png_insert_chunks(png: bytes, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """Insert (type, payload) chunks before the first IDAT (where iCCP and eXIf must go)."""
    if not chunks:
        return png
    for ctype, start, _end in _png_chunks(png):
        if ctype == b"IDAT":
            extra = b"".join(_png_chunk_bytes(t, p) for t, p in chunks)
            return png[:start] + extra + png[start:]
    raise EngineError("PNG without image data")


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
