"""What the API reads besides the JSON fields: multipart bodies (text fields and an uploaded
file) made into the same shape as a JSON body, ``Prefer: respond-async``, and the image bytes."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict

from artnex.errors import ImageTooLarge, InvalidRequest, MissingImage

from . import intake

# Multipart framing around an upload: the body may exceed the image limit by this much.
MULTIPART_OVERHEAD = 64 * 1024
# Multipart fields arrive as text: a plain decimal number is the only text that is a number.
_NUMBER_TEXT = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?")
_NUMERIC_FIELDS = ("scale", "width", "height")
_TRUE_TEXT, _FALSE_TEXT = {"true", "1", "yes"}, {"false", "0", "no"}


def prefers_async(prefer_header: str) -> bool:
    """RFC 7240: ``Prefer: respond-async`` (among other preferences, any case)."""
    tokens = (part.split(";", 1)[0].strip().lower() for part in prefer_header.split(","))
    return "respond-async" in tokens


def check_multipart_size(content_length: str | None) -> None:
    """Refuse an oversized upload before Django spools it to disk."""
    try:
        length = int(content_length or 0)
    except ValueError:
        return
    if length > settings.ARTNEX_MAX_INPUT_BYTES + MULTIPART_OVERHEAD:
        raise ImageTooLarge("The request body is larger than the service accepts.")


def as_json_body(data: QueryDict | dict[str, Any]) -> dict[str, Any]:
    """A multipart body as the JSON body it stands for: '2.5' is 2.5, 'true' is true.

    Text that is not a number or a boolean stays text, so the serializer refuses it with the
    same error as in JSON.
    """
    if not data:
        raise InvalidRequest("The multipart body holds no fields: send the file in 'image'.")
    body: dict[str, Any] = {key: data.get(key) for key in data}
    for name in _NUMERIC_FIELDS:
        value = body.get(name)
        if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
            number = float(value)
            body[name] = int(number) if number.is_integer() and "." not in value else number
    flag = body.get("async")
    if isinstance(flag, str) and flag.strip().lower() in _TRUE_TEXT | _FALSE_TEXT:
        body["async"] = flag.strip().lower() in _TRUE_TEXT
    return body


def read_source(image: Any) -> intake.ImageSource:
    """The image bytes, from an upload in the ``image`` field or from the JSON string."""
    if isinstance(image, UploadedFile):
        return intake.ImageSource(_read_upload(image), "upload")
    return intake.read_image(image)


def _read_upload(upload: UploadedFile) -> bytes:
    limit = settings.ARTNEX_MAX_INPUT_BYTES
    too_large = ImageTooLarge(f"The image is larger than {limit / (1024 * 1024):g} MB.")
    if upload.size is not None and upload.size > limit:
        raise too_large
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise too_large
    if not data:
        raise MissingImage("The uploaded image file is empty.")
    return bytes(data)
