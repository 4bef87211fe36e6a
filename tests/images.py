"""Image bytes for tests, made with Pillow (real encoders, real decoders)."""

from __future__ import annotations

import base64
import io
import struct
import zlib

from PIL import Image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (24, 16), mode: str = "RGB", **save: object) -> bytes:
    width, height = size
    image = Image.new(mode, size)
    # A gradient, so that the network sees structure and JPEG has something to encode.
    pixels = image.load()
    for y in range(height):
        for x in range(width):
            value = (x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) * 7 % 256)
            if mode == "RGBA":
                value = (*value, 255 if x > width // 3 else 0)
            elif mode == "L":
                value = value[0]
            pixels[x, y] = value
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares huge dimensions with almost no data: a decompression-bomb probe."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b"")
