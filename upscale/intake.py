"""Reading the image a request names: a data URI, or a URL fetched through the SSRF-safe client."""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from artnex import safe_http
from artnex.errors import ImageTooLarge, InvalidImageFormat, MissingImage

# data:[<media type>][;param=value]*;base64,<data>. The media type is parsed only to be
# ignored: the format is decided from the decoded bytes.
_DATA_URI_RE = re.compile(r"^data:(?P<meta>[^,]{0,200}),(?P<data>.*)$", re.DOTALL | re.IGNORECASE)
_WHITESPACE_RE = re.compile(r"\s+")
USER_AGENT = "Artnex/1.0 (+image fetcher)"


@dataclass(frozen=True)
class ImageSource:
    data: bytes
    kind: str  # "url" or "data"
    url: str = ""


def read_image(image: Any) -> ImageSource:
    if image is None or image == "":
        raise MissingImage()
    if not isinstance(image, str):
        raise InvalidImageFormat("The 'image' field must be a string: an https URL or a base64 data URI.")
    stripped = image.strip()
    if stripped[:5].lower() == "data:":
        return ImageSource(decode_data_uri(stripped), "data")
    if stripped[:8].lower() == "https://" or stripped[:7].lower() == "http://":
        data = fetch_image(
            stripped,
            max_bytes=settings.ARTNEX_MAX_INPUT_BYTES,
            allow_private=settings.ARTNEX_ALLOW_PRIVATE_URLS,
            connect_timeout=settings.ARTNEX_FETCH_CONNECT_TIMEOUT,
            read_timeout=settings.ARTNEX_FETCH_READ_TIMEOUT,
        )
        return ImageSource(data, "url", stripped)
    raise InvalidImageFormat("The 'image' field must be an https:// URL or a data:image/...;base64, URI.")


def fetch_image(url: str, *, max_bytes: int, **options: Any) -> bytes:
    """The SSRF-safe download, its failures said in the contract's image errors."""
    try:
        return safe_http.fetch(url, max_bytes=max_bytes, accept="image/*", user_agent=USER_AGENT, **options)
    except safe_http.ResponseTooLarge as exc:
        raise ImageTooLarge(f"image is larger than {safe_http.describe_size(exc.max_bytes)}") from exc
    except safe_http.FetchError as exc:
        # The client's messages all speak of "URL"; here that URL is the image's.
        raise InvalidImageFormat(f"image {exc.message}") from exc


def decode_data_uri(uri: str) -> bytes:
    match = _DATA_URI_RE.match(uri)
    if match is None or not match.group("meta").lower().endswith(";base64"):
        raise InvalidImageFormat("The data URI must be of the form data:image/<type>;base64,<data>.")
    encoded = _WHITESPACE_RE.sub("", match.group("data"))
    limit = settings.ARTNEX_MAX_INPUT_BYTES
    # Refuse before decoding: base64 is 4 characters per 3 bytes.
    if len(encoded) > 4 * math.ceil(limit / 3):
        raise ImageTooLarge(f"The image is larger than {_megabytes(limit)}.")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidImageFormat("The data URI's base64 data could not be decoded.") from exc
    if not data:
        raise MissingImage("The data URI holds no image data.")
    if len(data) > limit:
        raise ImageTooLarge(f"The image is larger than {_megabytes(limit)}.")
    return data


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"
