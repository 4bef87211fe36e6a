"""The request and success bodies of POST /v1/upscale, as DRF serializers.

They are the one description of both bodies: the view parses and renders with them, and
drf-spectacular builds the OpenAPI schema from them. Field errors become the contract's codes
in :func:`contract_error`, not DRF's default ``{"field": ["message"]}`` shape.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from artnex import errors, safe_http

from . import options, storage
from .models import UpscaleRequest

# Beyond any real image (the output pixel cap refuses far less): keeps the arithmetic finite.
_MAX_PIXELS_ASKED = 1_000_000


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


class ImageInput(StringField):
    """The JSON string (URL or data URI) or, in a multipart body, the uploaded file."""

    def to_internal_value(self, data: Any) -> Any:
        return data if isinstance(data, UploadedFile) else super().to_internal_value(data)


class PixelsField(serializers.IntegerField):
    """A whole JSON number of pixels: no strings, booleans or fractions."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int | float) or not float(data).is_integer():
            self.fail("invalid")
        return super().to_internal_value(int(data))


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false; DRF's own also takes "yes" and 1, which a JSON client never means."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class UpscaleInputSerializer(serializers.Serializer):
    image = ImageInput(
        trim_whitespace=False,
        help_text="An https:// URL of the image, or a data URI data:image/<type>;base64,<data>. "
        f"Formats: {', '.join(settings.ARTNEX_IMAGE_FORMATS)}, decided by the bytes.",
    )
    scale = ScaleField(
        required=False, default=settings.ARTNEX_DEFAULT_SCALE,
        min_value=settings.ARTNEX_MIN_SCALE, max_value=settings.ARTNEX_MAX_SCALE,
        help_text="Output is round(w*scale) x round(h*scale), halves rounded up; fractions allowed.",
    )

    width = PixelsField(
        required=False, min_value=1, max_value=_MAX_PIXELS_ASKED,
        help_text="Instead of scale: the output width in pixels, aspect ratio kept. The scale it gives must be "
        "in the scale range (an image 500 px wide accepts 500 to 2000).",
    )
    height = PixelsField(required=False, min_value=1, max_value=_MAX_PIXELS_ASKED,
                         help_text="Instead of scale: the output height in pixels, as width.")
    model = StringField(required=False, max_length=64,
                        help_text="A model of the engine's registry (any case); default: the server's default.")
    output_format = serializers.ChoiceField(
        choices=options.OUTPUT_FORMATS, required=False,
        help_text="Default: the input's format. A result with transparency asked as jpeg is PNG.",
    )
    webhook_url = StringField(required=False, max_length=2048,
                              help_text="A public https URL that receives the final result, signed (see the docs).")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # "async" is a Python keyword, so it cannot be declared as a class attribute.
        fields["async"] = StrictBooleanField(
            required=False, default=False,
            help_text="Answer 202 at once with a status_url instead of waiting (or send Prefer: respond-async).",
        )
        return fields

    def validate_model(self, value: str) -> str:
        try:
            return options.canonical_model(value)
        except errors.InvalidModel as exc:
            raise serializers.ValidationError(exc.message) from exc

    def validate_webhook_url(self, value: str) -> str:
        try:
            safe_http.check(value, allow_private=settings.ARTNEX_ALLOW_PRIVATE_URLS,
                            timeout=settings.ARTNEX_FETCH_CONNECT_TIMEOUT)
        except safe_http.FetchError as exc:
            raise serializers.ValidationError(f"webhook {exc.message}") from exc
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        sized = [name for name in ("width", "height") if name in attrs]
        if len(sized) == 2:
            raise serializers.ValidationError({"width": "Give width or height, not both: the aspect ratio is kept."})
        if sized and "scale" in self.initial_data:
            raise serializers.ValidationError({sized[0]: "Give scale, or width or height, not both."})
        return attrs

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
    for name, error in _OPTION_ERRORS.items():
        if name in field_errors:
            return error(f"{name}: {field_errors[name][0]}")
    return errors.InvalidRequest("The request body must be a JSON object.")


_OPTION_ERRORS: dict[str, type[errors.ApiError]] = {
    "width": errors.InvalidScale, "height": errors.InvalidScale, "model": errors.InvalidModel,
    "output_format": errors.InvalidOutputFormat, "async": errors.InvalidRequest,
    "webhook_url": errors.InvalidWebhookUrl,
}


class UpscaleResultSerializer(serializers.ModelSerializer):
    """The 200 body. ``image_url`` needs the ``base_url`` the link is built on, in the context."""

    success = serializers.SerializerMethodField()
    image_url = serializers.SerializerMethodField(help_text="Downloads without credentials until expires_at.")
    credits_used = serializers.IntegerField(source="credits_charged")
    width = serializers.IntegerField(source="output_width")
    height = serializers.IntegerField(source="output_height")
    output_format = serializers.ChoiceField(choices=options.OUTPUT_FORMATS, help_text="The result's format.")

    class Meta:
        model = UpscaleRequest
        fields = ["success", "image_url", "request_id", "credits_used", "expires_at", "width", "height", "scale",
                  "model", "output_format"]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_success(self, row: UpscaleRequest) -> bool:
        return True

    def to_representation(self, instance: UpscaleRequest) -> dict[str, Any]:
        body = super().to_representation(instance)
        # Stored as the engine names it (JPEG); the API speaks the request's words (jpeg).
        body["output_format"] = instance.output_format.lower()
        return body

    @extend_schema_field(OpenApiTypes.URI)
    def get_image_url(self, row: UpscaleRequest) -> str:
        assert row.expires_at is not None  # a succeeded row always has one
        return storage.result_url(row.request_id, row.result_file, row.expires_at, self.context["base_url"])
