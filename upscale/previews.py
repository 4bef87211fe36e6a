"""A small copy of each delivered request's input, for the portal's history and before/after view.

The input file itself is deleted as soon as the worker has read it; the preview (at most
1024 px on the long side, WebP) lives exactly as long as the result and goes with it.
Its name follows from the request id, so no column or migration is needed to find it.
"""

from __future__ import annotations

import io
import logging

from PIL import Image, ImageOps

from . import storage

log = logging.getLogger(__name__)
MAX_SIDE = 1024


def preview_name(request_id: str) -> str:
    return f"previews/{request_id}.webp"


def make_preview(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as opened:
        opened.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG decodes at reduced size: much faster
        image: Image.Image = ImageOps.exif_transpose(opened)
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        if image.mode.startswith("I"):  # 16-bit greyscale: map to 8 bits before converting
            image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
        image = image.convert("RGBA" if has_alpha else "RGB")
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, "WEBP", quality=82, method=4)
    return buffer.getvalue()


def save_preview(request_id: str, data: bytes) -> bool:
    """Best effort: a preview that cannot be made never fails the upscale itself."""
    try:
        storage.save(preview_name(request_id), make_preview(data))
    except Exception:
        log.exception("could not store the preview of %s", request_id)
        return False
    return True


def delete_preview(request_id: str) -> None:
    storage.delete(preview_name(request_id))
