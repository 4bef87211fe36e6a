"""Looking at the image bytes before any model work: format, size, pixel caps, integrity."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from artnex.errors import ImageTooLarge, InvalidImageFormat

from .engine import target_size

# A multi-picture JPEG (MPO: phones' and cameras' stereo shots and previews) is a JPEG whose
# first picture is the photo itself; Pillow opens it through the JPEG plugin as format "MPO".
_JPEG_FAMILY = {"JPEG", "MPO"}
# EXIF orientations 5-8 rotate by 90 degrees: the upright image has width and height swapped.
_TRANSPOSING_ORIENTATIONS = {5, 6, 7, 8}


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "JPEG" | "PNG" | "WEBP"
    width: int  # as displayed, after EXIF orientation
    height: int
    mode: str


def inspect_image(data: bytes) -> ImageInfo:
    max_pixels = settings.ARTNEX_MAX_INPUT_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=settings.ARTNEX_IMAGE_FORMATS)
            _check_pixels(image.width, image.height, max_pixels)
            if image.format not in _JPEG_FAMILY and getattr(image, "n_frames", 1) > 1:
                raise InvalidImageFormat("Animated images are not supported.")
            info = _oriented(image)
            # A full decode catches truncated and corrupt data that the header alone hides.
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge("The image has more pixels than the service accepts.") from exc
    except UnidentifiedImageError as exc:
        raise InvalidImageFormat("The image is not a JPEG, PNG or WebP file.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImageFormat("The image data is corrupt or truncated.") from exc
    return info


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"The image is {width}x{height} pixels; at most {max_pixels:,} pixels are accepted."
        )


def _oriented(image: Image.Image) -> ImageInfo:
    orientation = image.getexif().get(0x0112, 1)
    width, height = image.size
    if orientation in _TRANSPOSING_ORIENTATIONS:
        width, height = height, width
    fmt = "JPEG" if image.format in _JPEG_FAMILY else str(image.format)
    return ImageInfo(format=fmt, width=width, height=height, mode=image.mode)


def check_output(info: ImageInfo, scale: float) -> tuple[int, int]:
    width, height = target_size(info.width, info.height, scale)
    limit = settings.ARTNEX_MAX_OUTPUT_PIXELS
    if width * height > limit:
        raise ImageTooLarge(
            f"The result would be {width}x{height} pixels; at most {limit:,} pixels can be produced. "
            "Use a smaller scale or a smaller image."
        )
    return width, height
