"""The optional fields of POST /v1/upscale beyond image and scale: model, output format,
a target width or height, async mode and a webhook URL. Each refusal is a contract error."""

from __future__ import annotations

import math
import re
from typing import Any

from django.conf import settings

from . import engine
from .errors import ApiError, InvalidRequest, InvalidScale
from .runtime import engine_config

OUTPUT_FORMATS = ("jpeg", "png", "webp")
# Multipart fields arrive as text: a plain decimal number is the only text that is a number.
_NUMBER_TEXT = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?")
_TRUE_TEXT, _FALSE_TEXT = {"true", "1", "yes"}, {"false", "0", "no", ""}


class InvalidModel(ApiError):
    code = "invalid_model"
    default_message = "Unknown model."


class InvalidOutputFormat(ApiError):
    code = "invalid_output_format"
    default_message = "output_format must be one of: jpeg, png, webp."


class InvalidWebhookUrl(ApiError):
    code = "invalid_webhook_url"
    default_message = "webhook_url must be a public https:// URL."


def model_names() -> list[str]:
    return sorted(str(spec["name"]) for spec in engine.list_models(engine_config()))


def parse_model(value: Any) -> str:
    """A registry name (any case) to its canonical name; absent means the default model."""
    if value is None or value == "":
        return engine.resolve_model_name(None, engine_config())
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidModel(f"model must be one of: {', '.join(model_names())}.")
    try:
        return engine.resolve_model_name(value, engine_config())
    except engine.EngineError:
        raise InvalidModel(f"Unknown model {value!r}; choose one of: {', '.join(model_names())}.") from None


def parse_output_format(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value.strip().lower() not in OUTPUT_FORMATS:
        raise InvalidOutputFormat()
    return value.strip().lower()


def parse_flag(value: Any, name: str, *, from_text: bool) -> bool:
    if isinstance(value, bool):
        return value
    if from_text and isinstance(value, str) and value.strip().lower() in _TRUE_TEXT | _FALSE_TEXT:
        return value.strip().lower() in _TRUE_TEXT
    raise InvalidRequest(f"{name} must be true or false.")


def number_from_text(value: Any) -> Any:
    """Multipart fields are text: '2.5' becomes 2.5; anything else stays as it was (and is refused)."""
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        number = float(value)
        return int(number) if number.is_integer() and "." not in value else number
    return value


def parse_dimension(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value != int(value) or value < 1:
        raise InvalidScale(f"{name} must be a whole number of pixels.")
    return int(value)


def scale_for(width: int | None, height: int | None, image_width: int, image_height: int) -> float:
    """The scale that gives the requested width or height, aspect ratio kept, in the same range
    as ``scale`` (an image 500 px wide accepts widths 500 to 2000)."""
    if width is not None and height is not None:
        raise InvalidScale("Give width or height, not both: the aspect ratio is kept.")
    name, target, source = ("width", width, image_width) if width is not None else ("height", height, image_height)
    assert target is not None
    scale = target / source
    low, high = settings.ARTNEX_MIN_SCALE, settings.ARTNEX_MAX_SCALE
    if not low <= scale <= high:
        raise InvalidScale(
            f"{name} must be between {math.ceil(source * low)} and {math.floor(source * high)} for this image "
            f"({source} px): the scale must be between {low:g} and {high:g}."
        )
    return scale
