"""Every kind of image a customer may send, through the real engine and the small network."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from tests.engine.helpers import crop, decode, encode
from upscale.engine import EngineConfig, EngineError, UnsupportedImage, upscale_bytes, upscale_image
from upscale.engine.pipeline import _spec_for_scale
from upscale.engine.reference import fidelity
from upscale.engine.registry import lookup

BOX = (180, 110, 228, 142)  # 48x32 of the astronaut's face and suit: colour, edges, flat areas


def rgb() -> Image.Image:
    return crop("astronaut.png", BOX).convert("RGB")


def run(data: bytes, config: EngineConfig, scale: float = 2, **kw: object):
    return upscale_bytes(data, scale, config=config, **kw)


@pytest.mark.parametrize(("fmt", "ext", "mime"), [("PNG", "png", "image/png"), ("JPEG", "jpg", "image/jpeg"),
                                                  ("WEBP", "webp", "image/webp")])
def test_output_format_follows_input(config: EngineConfig, fmt: str, ext: str, mime: str) -> None:
    result = run(encode(rgb(), fmt), config)
    assert (result.format, result.extension, result.mime) == (fmt, ext, mime)
    out = decode(result.data)
    assert out.format == fmt
    assert out.size == (96, 64) == (result.width, result.height)
    assert result.model == "realesr-animevideov3"


@pytest.mark.parametrize(("asked", "fmt"), [("jpeg", "JPEG"), ("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP"),
                                           ("WebP", "WEBP")])
def test_output_format_overrides_the_input(config: EngineConfig, asked: str, fmt: str) -> None:
    result = run(encode(rgb(), "JPEG" if fmt != "JPEG" else "PNG"), config, output_format=asked)
    assert result.format == fmt
    assert decode(result.data).format == fmt


def test_unknown_output_format_is_refused(config: EngineConfig) -> None:
    with pytest.raises(EngineError, match="output_format must be one of jpeg, png, webp"):
        run(encode(rgb(), "PNG"), config, output_format="gif")


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_asked_as_jpeg_is_flattened_on_white(config: EngineConfig, mode: str) -> None:
    src = crop("chelsea_alpha.png", (0, 0, 64, 48)).convert(mode)
    result = run(encode(src, "PNG"), config, output_format="jpeg")
    out = decode(result.data)
    assert result.format == "JPEG" and out.mode == ("RGB" if mode == "RGBA" else "L")
    arr = np.asarray(out).astype(int)
    assert arr[:4, :4].min() >= 250  # the transparent corner became white, not black
    png = decode(run(encode(src, "PNG"), config, output_format="png").data)
    alpha = np.asarray(png.getchannel("A")).astype(float) / 255
    colour = np.asarray(png.convert("RGB" if mode == "RGBA" else "L")).astype(float)
    if colour.ndim == 2:
        colour, arr = colour[..., None], arr[..., None]
    expect = colour * alpha[..., None] + 255 * (1 - alpha[..., None])
    assert np.abs(arr - expect).mean() < 2.0  # the same picture composited over white


@pytest.mark.parametrize(("scale", "size"), [(1, (48, 32)), (1.5, (72, 48)), (2.5, (120, 80)), (4, (192, 128)),
                                             (3.33, (160, 107))])
def test_any_scale_gives_the_exact_size(config: EngineConfig, scale: float, size: tuple[int, int]) -> None:
    assert upscale_image(rgb(), scale, config=config).size == size


@pytest.mark.parametrize("scale", [0.5, 4.5])
def test_scale_out_of_range_is_refused(config: EngineConfig, scale: float) -> None:
    with pytest.raises(EngineError):
        upscale_image(rgb(), scale, config=config)


def test_garbage_is_unsupported(config: EngineConfig) -> None:
    with pytest.raises(UnsupportedImage):
        run(b"definitely not an image", config)


def test_exif_orientation_is_applied(config: EngineConfig) -> None:
    img = rgb()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: displays after a 90 degree clockwise turn
    exif[0x010F] = "Artnex Test Camera"
    result = run(encode(img, "JPEG", quality=95, exif=exif.tobytes()), config)
    out = decode(result.data)
    assert out.size == (64, 96)  # upright: the stored 48x32 displays as 32x48
    assert out.getexif().get(0x0112, 1) == 1
    assert out.getexif().get(0x010F) == "Artnex Test Camera"
    upright = upscale_image(img.transpose(Image.Transpose.ROTATE_270), 2, config=config)
    jpeg_upright = upscale_image(decode(encode(img, "JPEG", quality=95)).transpose(Image.Transpose.ROTATE_270),
                                 2, config=config)
    assert upright.size == out.size
    psnr, _ = fidelity(np.asarray(out), np.asarray(jpeg_upright))
    assert psnr > 30  # same picture, same way up (only JPEG re-encoding differs)


def test_gps_is_dropped_unless_asked(config: EngineConfig) -> None:
    exif = Image.Exif()
    exif[0x010F] = "Cam"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}
    data = encode(rgb(), "JPEG", exif=exif.tobytes())
    assert 0x8825 in decode(data).getexif()
    dropped = decode(run(data, config).data).getexif()
    assert 0x8825 not in dropped and dropped.get(0x010F) == "Cam"
    kept = decode(run(data, replace(config, keep_gps=True)).data).getexif()
    assert 0x8825 in kept


def rgb_profile() -> bytes:
    # A distinctive RGB profile (not plain sRGB), so that carrying it is visible.
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    data = bytearray(profile.tobytes())
    assert data[16:20] == b"RGB "
    return bytes(data)


def gray_profile() -> bytes:
    """A minimal valid ICC v2 gray profile (header, tag table, desc/wtpt/kTRC)."""
    import struct

    def tag_desc(text: bytes) -> bytes:
        return b"desc" + b"\0" * 4 + struct.pack(">I", len(text) + 1) + text + b"\0" + b"\0" * 79

    wtpt = b"XYZ " + b"\0" * 4 + struct.pack(">iii", 63190, 65536, 54061)
    trc = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 0x0233) + b"\0\0"  # gamma 2.2
    tags = [(b"desc", tag_desc(b"Artnex test gray")), (b"wtpt", wtpt), (b"kTRC", trc)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    size = offset + len(body)
    header = struct.pack(">I4sI4s4s4s", size, b"none", 0x02100000, b"mntr", b"GRAY", b"XYZ ")
    header += b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">iii", 63190, 65536, 54061)
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + body


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_icc_profile_is_carried(config: EngineConfig, fmt: str) -> None:
    icc = rgb_profile()
    result = run(encode(rgb(), fmt, icc_profile=icc), config)
    assert decode(result.data).info.get("icc_profile") == icc


@pytest.mark.parametrize(("fmt", "out_mode", "kept"), [("PNG", "L", True), ("JPEG", "L", True), ("WEBP", "RGB", False)])
def test_gray_profile_only_on_gray_output(config: EngineConfig, fmt: str, out_mode: str, kept: bool) -> None:
    """WebP has no gray mode: the gray image becomes RGB and its gray profile must not follow."""
    icc = gray_profile()
    src = rgb().convert("L")
    result = run(encode(src, "PNG", icc_profile=icc), config, output_format=fmt.lower())
    out = decode(result.data)
    assert out.mode == out_mode
    assert out.info.get("icc_profile") == (icc if kept else None)


def test_mismatching_profile_is_dropped(config: EngineConfig) -> None:
    """An RGB image carrying a gray profile (broken editors do this) gets no profile."""
    result = run(encode(rgb(), "PNG", icc_profile=gray_profile()), config)
    assert decode(result.data).info.get("icc_profile") is None


def test_alpha_is_upscaled_and_kept(config: EngineConfig) -> None:
    src = crop("chelsea_alpha.png", (0, 0, 64, 48))
    assert src.mode == "RGBA"
    result = run(encode(src, "PNG"), config)
    out = decode(result.data)
    assert out.mode == "RGBA" and result.format == "PNG"
    alpha_in = np.asarray(src)[..., 3].astype(float)
    alpha_out = np.asarray(out.resize(src.size, Image.Resampling.BOX))[..., 3].astype(float)
    assert np.abs(alpha_out - alpha_in).mean() < 6
    assert np.asarray(out)[0, 0, 3] == 0  # transparent corner stays transparent


def test_hidden_colour_under_transparency_does_not_fringe(config: EngineConfig) -> None:
    """Black or green under alpha 0 must not bleed into the visible edge."""
    base = np.asarray(rgb()).copy()
    alpha = np.zeros(base.shape[:2], dtype=np.uint8)
    alpha[:, 20:] = 255  # left part fully transparent, hard edge at x=20
    outs = []
    for hidden in ((0, 0, 0), (0, 255, 0), (255, 255, 255)):
        pix = base.copy()
        pix[:, :20] = hidden
        img = Image.fromarray(np.dstack([pix, alpha]), "RGBA")
        outs.append(np.asarray(upscale_image(img, 2, config=config)).astype(int))
    visible = outs[0][..., 3] > 128
    for other in outs[1:]:
        assert np.abs(other[..., :3] - outs[0][..., :3])[visible].max() <= 2


def test_grayscale_stays_grayscale(config: EngineConfig) -> None:
    src = rgb().convert("L")
    for fmt in ("PNG", "JPEG"):
        out = decode(run(encode(src, fmt), config).data)
        assert out.mode == "L"
        assert out.size == (96, 64)


def test_gray_with_alpha(config: EngineConfig) -> None:
    src = crop("chelsea_alpha.png", (0, 0, 48, 32)).convert("LA")
    out = decode(run(encode(src, "PNG"), config).data)
    assert out.mode == "LA"


def test_16_bit_png_stays_16_bit(config: EngineConfig) -> None:
    gray8 = np.asarray(rgb().convert("L")).astype(np.uint16)
    src = Image.fromarray(gray8 * 257)
    result = run(encode(src, "PNG"), config)
    out = decode(result.data)
    assert out.mode in ("I;16", "I")
    arr = np.asarray(out).astype(np.float64)
    assert arr.max() > 255  # really uses the 16-bit range
    eight = np.asarray(decode(run(encode(rgb().convert("L"), "PNG"), config).data)).astype(np.float64)
    assert np.abs(arr / 257 - eight).mean() < 1.0


@pytest.mark.parametrize("transparent", [False, True])
def test_palette_images(config: EngineConfig, transparent: bool) -> None:
    src = rgb().quantize(64)
    if transparent:
        src.info["transparency"] = 0
    out = decode(run(encode(src, "PNG", **({"transparency": 0} if transparent else {})), config).data)
    assert out.mode == ("RGBA" if transparent else "RGB")
    assert out.size == (96, 64)


def test_cmyk_jpeg_becomes_rgb_with_the_same_colours(config: EngineConfig) -> None:
    src = rgb()
    result = run(encode(src.convert("CMYK"), "JPEG", quality=98), config)
    out = decode(result.data)
    assert out.mode == "RGB" and result.format == "JPEG"
    expect = upscale_image(decode(encode(src.convert("CMYK"), "JPEG", quality=98)).convert("RGB"), 2, config=config)
    psnr, _ = fidelity(np.asarray(out), np.asarray(expect))
    assert psnr > 35


def test_progress_is_reported(config: EngineConfig) -> None:
    seen: list[tuple[int, int]] = []
    upscale_image(rgb(), 2, config=config, tile=16, progress=lambda done, total: seen.append((done, total)))
    assert len(seen) > 1
    assert seen[-1][0] == seen[-1][1]
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_x2_network_is_used_for_scale_2_when_installed(config: EngineConfig, tmp_path: Path) -> None:
    x4 = lookup("realesrgan-x4plus")
    cfg = replace(config, model_dir=tmp_path)
    assert _spec_for_scale(x4, 2, cfg).name == "realesrgan-x4plus"
    (tmp_path / "RealESRGAN_x2plus.pth").write_bytes(b"placeholder")
    assert _spec_for_scale(x4, 2, cfg).name == "realesrgan-x2plus"
    assert _spec_for_scale(x4, 1.5, cfg).name == "realesrgan-x2plus"
    assert _spec_for_scale(x4, 3, cfg).name == "realesrgan-x4plus"


def test_operator_model_any_spandrel_architecture(config: EngineConfig, tmp_path: Path) -> None:
    (tmp_path / "house.pth").write_bytes((config.model_dir / "realesr-animevideov3.pth").read_bytes())
    cfg = replace(config, model_dir=tmp_path, extra_models={"house": {"file": "house.pth", "scale": 4}})
    out = upscale_image(rgb(), 4, config=cfg, model="house")
    assert out.size == (192, 128) and out.info["artnex_model"] == "house"


def test_pickle_with_code_is_refused(config: EngineConfig, tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    import torch

    torch.save({"params": Evil()}, tmp_path / "evil.pth")
    cfg = replace(config, model_dir=tmp_path, extra_models={"evil": {"file": "evil.pth"}})
    with pytest.raises(EngineError):
        upscale_image(rgb(), 4, config=cfg, model="evil")


def test_io_is_bytes_in_bytes_out(config: EngineConfig) -> None:
    result = run(encode(rgb(), "PNG"), config)
    assert isinstance(result.data, bytes)
    assert Image.open(io.BytesIO(result.data)).size == (96, 64)


def test_operator_override_of_x4plus_is_not_swapped_for_x2(config: EngineConfig, tmp_path: Path) -> None:
    """An operator's own network under the x4plus name is what they asked for, at every scale."""
    (tmp_path / "RealESRGAN_x2plus.pth").write_bytes(b"placeholder")
    own = {"realesrgan-x4plus": {"file": "house-x4.pth", "scale": 4}}
    cfg = replace(config, model_dir=tmp_path, extra_models=own)
    spec = lookup("realesrgan-x4plus", own)
    assert _spec_for_scale(spec, 2, cfg).name == "realesrgan-x4plus"
    assert _spec_for_scale(spec, 2, cfg).file == "house-x4.pth"
    # An operator x2 entry is the twin the official x4plus uses, with the operator's file.
    x2 = {"realesrgan-x2plus": {"file": "house-x2.pth", "scale": 2}}
    cfg = replace(config, model_dir=tmp_path, extra_models=x2)
    assert _spec_for_scale(lookup("realesrgan-x4plus"), 2, cfg).name == "realesrgan-x4plus"  # file missing
    (tmp_path / "house-x2.pth").write_bytes(b"placeholder")
    assert _spec_for_scale(lookup("realesrgan-x4plus"), 2, cfg).file == "house-x2.pth"


@pytest.mark.parametrize("mode", ["network", "lanczos"])
def test_alpha_modes(config: EngineConfig, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from upscale.engine import runtime

    calls: list[int] = []
    real = runtime.upscale_planes

    def counting(*args: object, **kw: object) -> object:
        calls.append(1)
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr("upscale.engine.pipeline.upscale_planes", counting)
    src = crop("chelsea_alpha.png", (40, 120, 104, 168))  # the left edge of the feathered ellipse
    out = upscale_image(src, 2, config=replace(config, alpha=mode))
    assert out.mode == "RGBA" and out.size == (128, 96)
    assert len(calls) == (2 if mode == "network" else 1)  # lanczos: one network pass, not two
    alpha = np.asarray(out)[..., 3].astype(float)
    alpha_in = np.asarray(src)[..., 3].astype(float)
    assert np.abs(np.asarray(Image.fromarray(alpha.astype(np.uint8)).resize((64, 48), Image.Resampling.BOX))
                  .astype(float) - alpha_in).mean() < 6
    assert alpha[0, 0] == 0 and alpha[48, 120] == 255


def test_alpha_mode_from_env() -> None:
    assert EngineConfig.from_env({"ARTNEX_ALPHA": "Lanczos"}).alpha == "lanczos"
    assert EngineConfig.from_env({}).alpha == "network"
    with pytest.raises(EngineError, match="alpha"):
        EngineConfig.from_env({"ARTNEX_ALPHA": "bicubic"})


def test_out_format_is_still_accepted(config: EngineConfig) -> None:
    """The worker task passed `out_format` before `output_format` existed; both name one thing."""
    assert run(encode(rgb(), "PNG"), config, out_format="JPEG").format == "JPEG"
    assert run(encode(rgb(), "PNG"), config, output_format="webp", out_format="webp").format == "WEBP"
    with pytest.raises(EngineError, match="disagree"):
        run(encode(rgb(), "PNG"), config, output_format="png", out_format="jpeg")
