"""The bodies of the async API, for the OpenAPI schema: the status of a request (also the
202 answer and the webhook payload), the account, and the multipart form of POST /v1/upscale.
The bodies themselves are built in :mod:`upscale.results`; the schema test and the fuzzing run
hold the two together."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from artnex.openapi import ErrorDetailSerializer

from . import options
from .models import UpscaleRequest
from .serializers import UpscaleInputSerializer


class RequestStatusSerializer(serializers.Serializer):
    success = serializers.BooleanField(help_text="false exactly when status is failed.")
    request_id = serializers.CharField()
    status = serializers.ChoiceField(choices=UpscaleRequest.Status.values)
    status_url = serializers.URLField(help_text="GET it for the status; DELETE it to remove the result.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    # Once succeeded: the synchronous answer's fields.
    image_url = serializers.URLField(required=False, allow_null=True,
                                     help_text="null once the result is deleted or expired.")
    result_deleted_at = serializers.DateTimeField(required=False, help_text="When the result file was removed.")
    credits_used = serializers.IntegerField(required=False)
    expires_at = serializers.DateTimeField(required=False)
    width = serializers.IntegerField(required=False)
    height = serializers.IntegerField(required=False)
    scale = serializers.FloatField(required=False)
    model = serializers.CharField(required=False)
    output_format = serializers.ChoiceField(choices=options.OUTPUT_FORMATS, required=False)
    # Once failed: the synchronous error.
    error = ErrorDetailSerializer(required=False)


class PlanSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    daily_quota = serializers.IntegerField()


class QuotaSerializer(serializers.Serializer):
    limit = serializers.IntegerField(help_text="Upscale requests per UTC day.")
    used = serializers.IntegerField()
    remaining = serializers.IntegerField()
    resets_at = serializers.DateTimeField(help_text="The next UTC midnight.")


class AccountSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    email = serializers.CharField()
    credits = serializers.IntegerField(help_text="The balance.")
    price_credits = serializers.IntegerField(help_text="What one upscale costs.")
    plan = PlanSerializer()
    quota = QuotaSerializer(help_text="Today's use of the daily quota.")


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.FileField):
    """A file part (DRF's FileField is documented as a URL, which a response would hold)."""


class UpscaleUploadSerializer(UpscaleInputSerializer):
    """multipart/form-data: the same fields as text parts, the image as a file part."""

    # Documents the file part; parsing goes through UpscaleInputSerializer, which takes both.
    image = UploadField(  # type: ignore[assignment]
        help_text="The image file (JPEG, PNG or WebP, decided by the bytes).")
