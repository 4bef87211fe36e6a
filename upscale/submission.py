"""Reading a POST /v1/upscale body, JSON or multipart, into what a submission needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from . import intake, options
from .errors import ImageTooLarge, InvalidImageFormat, InvalidRequest, InvalidScale, MissingImage
from .webhooks import transport


@dataclass(frozen=True)
class UpscaleInput:
    image: Any  # the JSON string (URL or data URI), or an uploaded file
    scale: float | None  # None when width or height decides it
    width: int | None
    height: int | None
    model: str
    output_format: str | None
    respond_async: bool
    webhook_url: str


def prefers_async(prefer_header: str) -> bool:
    """RFC 7240: ``Prefer: respond-async`` (among other preferences, any case)."""
    tokens = (part.split(";", 1)[0].strip().lower() for part in prefer_header.split(","))
    return "respond-async" in tokens


def parse(body: Any, *, multipart: bool, prefer_async: bool) -> UpscaleInput:
    """Every check that needs no I/O, in the order the contract's errors are documented."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    if multipart and not body:
        raise InvalidRequest("The multipart body holds no fields: send the file in 'image'.")

    def field(name: str) -> Any:
        value = body.get(name)
        return options.number_from_text(value) if multipart and name in {"scale", "width", "height"} else value

    width = options.parse_dimension(field("width"), "width")
    height = options.parse_dimension(field("height"), "height")
    sized = width is not None or height is not None
    if sized and "scale" in body:
        raise InvalidScale("Give scale, or width or height, not both.")
    scale = None if sized else intake.parse_scale(field("scale") if "scale" in body else settings.ARTNEX_DEFAULT_SCALE)
    respond_async = prefer_async
    if body.get("async") is not None:
        respond_async = options.parse_flag(body.get("async"), "async", from_text=multipart)
    return UpscaleInput(
        image=body.get("image"), scale=scale, width=width, height=height,
        model=options.parse_model(body.get("model")),
        output_format=options.parse_output_format(body.get("output_format")),
        respond_async=respond_async, webhook_url=_webhook_url(body.get("webhook_url")),
    )


def _webhook_url(value: Any) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > 2048:
        raise options.InvalidWebhookUrl()
    try:
        return transport.check_url(value.strip())
    except transport.DeliveryError as exc:
        raise options.InvalidWebhookUrl(f"webhook_url refused: {exc}.") from exc


def read_source(image: Any) -> intake.ImageSource:
    """The image bytes, from an upload in the ``image`` field or from the JSON string."""
    if isinstance(image, UploadedFile):
        return intake.ImageSource(_read_upload(image), "upload")
    return intake.read_image(image)


def _read_upload(upload: UploadedFile) -> bytes:
    limit = settings.ARTNEX_MAX_INPUT_BYTES
    if upload.size is not None and upload.size > limit:
        raise ImageTooLarge(f"The image is larger than {limit / (1024 * 1024):g} MB.")
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ImageTooLarge(f"The image is larger than {limit / (1024 * 1024):g} MB.")
    if not data:
        raise MissingImage("The uploaded image file is empty.")
    if not isinstance(data, bytes):
        raise InvalidImageFormat("The uploaded image could not be read.")
    return data
