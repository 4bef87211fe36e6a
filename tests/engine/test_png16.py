"""16-bit colour PNGs (RGB48/RGBA64) stay 16-bit: decoded and encoded with OpenCV, not Pillow."""

from __future__ import annotations

import io
import pickle
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from tests.engine.helpers import decode, encode
from upscale.engine import EngineConfig, UnsupportedImage, imageio, upscale_bytes, upscale_image
from upscale.engine.imageio import Image16

W, H = 24, 16


def gradient() -> np.ndarray:
    """(H, W, 3) uint16 RGB, smooth, with values 8-bit rounding would visibly change.

    Gentle slopes: on steep synthetic ramps the network amplifies the sub-8-bit differences
    between this image and its 8-bit rounding, so the paths could not be compared."""
    y, x = np.mgrid[0:H, 0:W]
    rgb = np.stack([10007 + x * 301 + y * 37, 50021 - x * 577 - y * 113, 20011 + x * 199 + y * 421], axis=-1)
    return rgb.astype(np.uint16)


def with_alpha(rgb: np.ndarray) -> np.ndarray:
    """Opaque disc with a soft edge, fully transparent corners."""
    y, x = np.mgrid[0:H, 0:W]
    r = np.hypot(x - (W - 1) / 2, y - (H - 1) / 2)
    alpha = np.clip((9.5 - r) / 3.0, 0.0, 1.0) * 65535
    return np.dstack([rgb, np.rint(alpha).astype(np.uint16)])


def png16(pixels: np.ndarray) -> bytes:
    code = cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR
    ok, buf = cv2.imencode(".png", cv2.cvtColor(pixels, code))
    assert ok
    return buf.tobytes()


def read16(data: bytes) -> np.ndarray:
    """Decode with OpenCV (unchanged) and return RGB(A) order."""
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert arr is not None
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return arr


def eight_bit(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray(np.rint(pixels / 257.0).astype(np.uint8))


def chunk_types(data: bytes) -> list[bytes]:
    return [ctype for ctype, _, _ in imageio._png_chunks(data)]


def test_input_really_is_16_bit() -> None:
    data = png16(gradient())
    assert imageio._png_header(data) == (W, H, 16, 2)
    assert (gradient() % 257 != 0).mean() > 0.9
    # What the engine used to do: Pillow opens RGB48 as 8-bit RGB.
    assert decode(data).mode == "RGB"


@pytest.mark.parametrize(("scale", "size"), [(2, (48, 32)), (4, (96, 64)), (1.5, (36, 24))])
def test_16_bit_rgb_png_stays_16_bit(config: EngineConfig, scale: float, size: tuple[int, int]) -> None:
    src = gradient()
    result = upscale_bytes(png16(src), scale, config=config)
    assert result.format == "PNG" and (result.width, result.height) == size
    assert imageio._png_header(result.data)[2:] == (16, 2)
    out = read16(result.data)
    assert out.dtype == np.uint16 and out.shape == (size[1], size[0], 3)
    # Real 16-bit output, not 8-bit values widened by 257.
    assert (out % 257 != 0).mean() > 0.5
    # The same picture as the 8-bit path gives for the same image.
    ref = np.asarray(decode(upscale_bytes(encode(eight_bit(src), "PNG"), scale, config=config).data))
    diff = np.abs(out.astype(np.float64) / 257.0 - ref.astype(np.float64))
    assert diff.mean() < 1.0 and diff.max() < 8


def test_16_bit_rgba_keeps_16_bit_alpha(config: EngineConfig) -> None:
    src = with_alpha(gradient())
    result = upscale_bytes(png16(src), 2, config=config)
    assert result.format == "PNG"
    assert imageio._png_header(result.data)[2:] == (16, 6)
    out = read16(result.data)
    assert out.dtype == np.uint16 and out.shape == (32, 48, 4)
    alpha = out[..., 3]
    for corner in (alpha[0, 0], alpha[0, -1], alpha[-1, 0], alpha[-1, -1]):
        assert corner == 0  # transparent corners stay transparent
    assert alpha[16, 24] == 65535  # the opaque centre stays opaque
    edge = (alpha > 0) & (alpha < 65535)
    assert (alpha[edge] % 257 != 0).mean() > 0.5  # the soft edge has 16-bit precision, not 8-bit x 257
    visible = alpha > 60000
    assert (out[..., :3][visible] % 257 != 0).mean() > 0.5
    # Alpha, and colour where it is visible, agree with the 8-bit RGBA path. (The network
    # sharpens this soft synthetic edge in both paths, so compare paths, not input.)
    ref = np.asarray(decode(upscale_bytes(encode(eight_bit(src), "PNG"), 2, config=config).data)).astype(float)
    diff = np.abs(out.astype(float) / 257 - ref)
    assert diff[..., 3].mean() < 0.5 and diff[..., 3].max() <= 4
    assert diff[..., :3][visible].mean() < 1.5


def test_rgb_with_trns_colour_key_gets_alpha(config: EngineConfig) -> None:
    src = gradient()
    src[:4, :4] = (1, 2, 3)
    data = imageio._png_insert_chunks(png16(src), [(b"tRNS", struct.pack(">3H", 1, 2, 3))])
    out = read16(upscale_bytes(data, 2, config=config).data)
    assert out.dtype == np.uint16 and out.shape == (32, 48, 4)
    assert out[0, 0, 3] == 0 and out[-1, -1, 3] == 65535


def test_icc_profile_survives(config: EngineConfig) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    chunk = (b"iCCP", b"test\x00\x00" + zlib.compress(icc))
    data = imageio._png_insert_chunks(png16(gradient()), [chunk])
    assert Image.open(io.BytesIO(data)).info["icc_profile"] == icc
    result = upscale_bytes(data, 2, config=config)
    out = Image.open(io.BytesIO(result.data))
    out.load()  # also checks every chunk's CRC
    assert out.info["icc_profile"] == icc
    assert read16(result.data).dtype == np.uint16
    types = chunk_types(result.data)
    assert types[0] == b"IHDR" and types.count(b"iCCP") == 1
    assert types.index(b"iCCP") < types.index(b"IDAT")


def test_exif_orientation_is_applied(config: EngineConfig) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # displays after a 90 degree clockwise turn
    exif[0x010F] = "Artnex Test Camera"
    raw = exif.tobytes().removeprefix(b"Exif\x00\x00")
    src = gradient()
    result = upscale_bytes(imageio._png_insert_chunks(png16(src), [(b"eXIf", raw)]), 2, config=config)
    assert (result.width, result.height) == (32, 48)
    out = read16(result.data)
    assert out.shape == (48, 32, 3) and out.dtype == np.uint16
    meta = Image.open(io.BytesIO(result.data)).getexif()
    assert meta.get(0x0112, 1) == 1 and meta.get(0x010F) == "Artnex Test Camera"
    upright = read16(upscale_bytes(png16(np.ascontiguousarray(np.rot90(src, -1))), 2, config=config).data)
    assert np.array_equal(out, upright)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_8_bit_formats_get_8_bits(config: EngineConfig, fmt: str) -> None:
    src = gradient()
    result = upscale_bytes(png16(src), 2, config=config, output_format=fmt)
    assert result.format == fmt
    out = decode(result.data)
    assert out.format == fmt and out.mode == "RGB" and out.size == (48, 32)
    ref = decode(upscale_bytes(encode(eight_bit(src), "PNG"), 2, config=config, output_format=fmt).data)
    assert np.abs(np.asarray(out).astype(float) - np.asarray(ref).astype(float)).mean() < 2


def test_alpha_asked_as_jpeg_is_flattened(config: EngineConfig) -> None:
    result = upscale_bytes(png16(with_alpha(gradient())), 2, config=config, output_format="jpeg")
    out = decode(result.data)
    assert result.format == "JPEG" and out.mode == "RGB" and out.size == (48, 32)
    assert np.asarray(out)[0, 0].min() >= 250  # transparent corner on white


def gray_alpha16() -> np.ndarray:
    """(H, W, 2) uint16 gray + alpha, with odd values 8 bits cannot hold (1007 among them)."""
    gray = gradient()[..., 0]
    gray[0, 0] = 1007
    return np.dstack([gray, with_alpha(gradient())[..., 3]])


def test_gray_alpha_16_bit_png_is_encoded_and_read_back() -> None:
    px = gray_alpha16()
    data = imageio._encode_png16(px, None, None)
    assert imageio._png_header(data) == (W, H, 16, 4)
    with Image.open(io.BytesIO(data)) as img:
        img.load()  # Pillow checks the CRCs and inflates the data (as 8-bit RGBA: 1007 -> 771)
        assert img.mode == "RGBA" and img.size == (W, H)
    decoded = imageio.decode(data).image
    assert isinstance(decoded, Image16) and decoded.mode == "LA"
    assert np.array_equal(decoded.pixels16, px)
    assert decoded.pixels16[0, 0, 0] == 1007


def test_gray_alpha_16_bit_stays_16_bit_with_alpha(config: EngineConfig) -> None:
    """Colour type 4 at 16 bits: Pillow alone would make it 8-bit (1007 becomes 771)."""
    px = gray_alpha16()
    result = upscale_bytes(imageio._encode_png16(px, None, None), 2, config=config)
    assert result.format == "PNG"
    assert imageio._png_header(result.data) == (2 * W, 2 * H, 16, 4)
    out = imageio.decode(result.data).image
    assert isinstance(out, Image16) and out.mode == "LA" and out.size == (2 * W, 2 * H)
    gray, alpha = out.pixels16[..., 0].astype(float), out.pixels16[..., 1]
    assert (gray % 257 != 0).mean() > 0.5  # values between the 8-bit steps: really 16 bits
    assert alpha[0, 0] == 0 and alpha[H, W] == 65535  # transparent corner, opaque centre
    # Same picture as the 8-bit LA path, to within 8-bit rounding.
    la8 = Image.fromarray(np.rint(px / 257.0).astype(np.uint8), mode="LA")
    ref = np.asarray(decode(upscale_bytes(encode(la8, "PNG"), 2, config=config).data)).astype(float)
    visible = ref[..., 1] > 128
    assert np.abs(gray / 257 - ref[..., 0])[visible].mean() < 2


def test_upscale_image_keeps_16_bits(config: EngineConfig) -> None:
    img = imageio.decode(png16(gradient())).image
    assert isinstance(img, Image16) and img.mode == "RGB" and img.size == (W, H)
    out = upscale_image(img, 3, config=config)
    assert isinstance(out, Image16) and out.size == (72, 48)
    assert out.pixels16.dtype == np.uint16 and out.pixels16.shape == (48, 72, 3)
    # The 8-bit face of the image is the 16-bit pixels rounded.
    assert np.array_equal(np.asarray(out), np.rint(out.pixels16 / 257.0).astype(np.uint8))


def test_decompression_bomb_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    data = png16(gradient())
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", W * H - 1)
    with pytest.raises(UnsupportedImage):
        imageio.decode(data)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", W * H)
    assert imageio.decode(data).image.size == (W, H)


def test_huge_header_is_refused() -> None:
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 16, 6, 0, 0, 0)
    data = imageio.PNG_SIGNATURE + imageio._png_chunk_bytes(b"IHDR", ihdr) + imageio._png_chunk_bytes(b"IEND", b"")
    with pytest.raises(UnsupportedImage):
        imageio.decode(data)


def test_truncated_16_bit_png_is_unsupported() -> None:
    data = png16(gradient())
    with pytest.raises(UnsupportedImage):
        imageio.decode(data[: len(data) // 2])


def test_chunk_splice() -> None:
    data = png16(gradient())
    spliced = imageio._png_insert_chunks(data, [(b"tEXt", b"Comment\x00hello"), (b"tEXt", b"Author\x00me")])
    types = chunk_types(spliced)
    assert types[0] == b"IHDR" and types.count(b"tEXt") == 2
    first_idat = types.index(b"IDAT")
    assert types[first_idat - 2 : first_idat] == [b"tEXt", b"tEXt"]
    img = Image.open(io.BytesIO(spliced))
    img.load()
    assert img.info["Comment"] == "hello" and img.info["Author"] == "me"
    assert np.array_equal(read16(spliced), gradient())
    assert imageio._png_insert_chunks(data, []) == data


def test_resize16_matches_pillow_on_8_bit_data() -> None:
    px = with_alpha(gradient())
    eight = eight_bit(px)
    ref = np.asarray(eight.resize((37, 29), Image.Resampling.LANCZOS)).astype(float)
    got = imageio._resize16((np.asarray(eight).astype(np.uint16) * 257), (37, 29), Image.Resampling.LANCZOS)
    # Pillow rounds to 8 bits between its passes and in premultiplied colour; compare loosely
    # and only where alpha is high enough for 8-bit premultiplied colour to be accurate.
    visible = ref[..., 3] > 128
    assert np.abs(got[..., 3] / 257 - ref[..., 3]).max() <= 3
    colour = np.abs(got[..., :3] / 257 - ref[..., :3])[visible]
    assert colour.mean() < 1.0 and colour.max() <= 3


def test_image16_pickles_and_copies_with_16_bits() -> None:
    img = imageio.decode(png16(with_alpha(gradient()))).image
    assert isinstance(img, Image16) and img.mode == "RGBA"
    for twin in (pickle.loads(pickle.dumps(img)), img.copy()):
        assert isinstance(twin, Image16) and twin.size == img.size and twin.mode == "RGBA"
        assert np.array_equal(twin.pixels16, img.pixels16)


def test_from_planes_keeps_a_16_bit_alpha_exactly() -> None:
    rgb = gradient()
    alpha16 = with_alpha(rgb)[..., 3]
    out = imageio.from_planes(rgb, alpha16, False, 16)
    assert isinstance(out, Image16) and np.array_equal(out.pixels16[..., 3], alpha16)
    widened = imageio.from_planes(rgb, (alpha16 // 257).astype(np.uint8), False, 16)
    assert np.array_equal(widened.pixels16[..., 3], (alpha16 // 257) * 257)
    assert np.array_equal(widened.pixels16[..., :3], rgb)
