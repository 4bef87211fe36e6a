"""The request and success bodies of POST /v1/upscale, as DRF serializers.

They are the one description of both bodies: the view parses and renders with them, and
drf-spectacular builds the OpenAPI schema from them. Field errors become the contract's codes
in :func:`contract_error`, not DRF's default ``{"field": ["message"]}`` shape.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from artnex import errors

from . import storage
from .models import UpscaleRequest


def scale_message(*, in_range_only: bool = False) -> str:
    limits = f"between {settings.ARTNEX_MIN_SCALE:g} and {settings.ARTNEX_MAX_SCALE:g}"
    return f"scale must be {limits}" if in_range_only else f"scale must be a number {limits}"


class ScaleField(serializers.FloatField):
    """A JSON number in the scale range: strings and booleans are not numbers here."""

    def to_internal_value(self, data: Any) -> float:
        # bool is a subclass of int in Python, but `true` is not a number in JSON.
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        try:
            value = float(data)
        except OverflowError:  # an integer literal too large for a float
            self.fail("invalid")
        if not math.isfinite(value):  # 1e400 parses to inf
            self.fail("invalid")
        return value


class StringField(serializers.CharField):
    """A JSON string, nothing DRF would turn into one (numbers, booleans)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class UpscaleInputSerializer(serializers.Serializer):
    image = StringField(
        trim_whitespace=False,
        help_text="An https:// URL of the image, or a data URI data:image/<type>;base64,<data>. "
        f"Formats: {', '.join(settings.ARTNEX_IMAGE_FORMATS)}, decided by the bytes.",
    )
    scale = ScaleField(
        required=False, default=settings.ARTNEX_DEFAULT_SCALE,
        min_value=settings.ARTNEX_MIN_SCALE, max_value=settings.ARTNEX_MAX_SCALE,
        help_text="Output is round(w*scale) x round(h*scale), halves rounded up; fractions allowed.",
    )

    def validated(self) -> dict[str, Any]:
        """The validated body, or the contract's error for the first thing wrong with it."""
        if not self.is_valid():
            raise contract_error(self.errors)
        return dict(self.validated_data)


def contract_error(field_errors: Any) -> errors.ApiError:
    # The scale is judged before the image, as the contract's examples expect.
    if "scale" in field_errors:
        codes = {detail.code for detail in field_errors["scale"]}
        return errors.InvalidScale(scale_message(in_range_only=codes <= {"min_value", "max_value"}))
    if "image" in field_errors:
        codes = {detail.code for detail in field_errors["image"]}
        if codes & {"required", "null", "blank"}:
            return errors.MissingImage()
        return errors.InvalidImageFormat("The 'image' field must be a string: an https URL or a base64 data URI.")
    return errors.InvalidRequest("The request body must be a JSON object.")


class UpscaleResultSerializer(serializers.ModelSerializer):
    """The 200 body. ``image_url`` needs the ``base_url`` the link is built on, in the context."""

    success = serializers.SerializerMethodField()
    image_url = serializers.SerializerMethodField(help_text="Downloads without credentials until expires_at.")
    credits_used = serializers.IntegerField(source="credits_charged")
    width = serializers.IntegerField(source="output_width")
    height = serializers.IntegerField(source="output_height")

    class Meta:
        model = UpscaleRequest
        fields = ["success", "image_url", "request_id", "credits_used", "expires_at", "width", "height", "scale",
                  "model"]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_success(self, row: UpscaleRequest) -> bool:
        return True

    @extend_schema_field(OpenApiTypes.URI)
    def get_image_url(self, row: UpscaleRequest) -> str:
        assert row.expires_at is not None  # a succeeded row always has one
        return storage.result_url(row.request_id, row.result_file, row.expires_at, self.context["base_url"])
