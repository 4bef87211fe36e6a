"""The optional choices of an upscale beyond the scale: the model, the output format, and a
target width or height (turned into a scale once the image's size is known)."""

from __future__ import annotations

import math

from django.conf import settings

from artnex.errors import InvalidModel, InvalidScale

from . import engine
from .runtime import engine_config

# The API's names for the engine's formats (its one table): "jpeg", "png", "webp".
OUTPUT_FORMATS = tuple(name.lower() for name in engine.FORMATS)


def model_names() -> list[str]:
    return sorted(str(spec["name"]) for spec in engine.list_models(engine_config()))


def canonical_model(name: str | None) -> str:
    """A registry name (any case, or its release file name) to its canonical name."""
    try:
        return engine.resolve_model_name(name, engine_config())
    except engine.EngineError:
        raise InvalidModel(f"Unknown model {name!r}; choose one of: {', '.join(model_names())}.") from None


def scale_for(width: int | None, height: int | None, image_width: int, image_height: int) -> float:
    """The scale that gives the requested width or height, aspect ratio kept, in the same range
    as ``scale`` (an image 500 px wide accepts widths 500 to 2000)."""
    name, target, source = ("width", width, image_width) if width is not None else ("height", height, image_height)
    assert target is not None, "a width or a height is required"
    scale = target / source
    low, high = settings.ARTNEX_MIN_SCALE, settings.ARTNEX_MAX_SCALE
    if not low <= scale <= high:
        raise InvalidScale(
            f"{name} must be between {math.ceil(source * low)} and {math.floor(source * high)} for this image "
            f"({source} px): the scale must be between {low:g} and {high:g}."
        )
    return scale
