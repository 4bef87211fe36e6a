"""The error half of the OpenAPI schema, generated from the error classes in :mod:`artnex.errors`.

Views describe their success bodies with their own serializers and name the errors they can
answer; this module turns those classes into documented responses (status, codes, an example
each) and the response headers the contract promises.
"""

from __future__ import annotations

from collections import defaultdict

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from .errors import ApiError, error_body, error_classes

EXAMPLE_REQUEST_ID = "req_ups_k3j2m9x0q1w8e7r6t5y4"
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "The daily quota of upscale requests.",
    "X-RateLimit-Remaining": "Requests left today (UTC).",
    "X-RateLimit-Reset": "Unix time of the next UTC midnight, when the quota resets.",
}
RETRY_AFTER = "Seconds to wait: to the next UTC midnight for the daily quota, 60 for the burst limit."
WWW_AUTHENTICATE = 'The authentication scheme: Bearer realm="api".'


class ErrorDetailSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        # Built when the schema is, so error classes that apps define later are listed too.
        codes = sorted({cls.code for cls in error_classes()})
        return {
            "code": serializers.ChoiceField(choices=codes, help_text="Machine-readable; stable across releases."),
            "message": serializers.CharField(help_text="For humans; may change."),
        }


class ErrorSerializer(serializers.Serializer):
    success = serializers.BooleanField(help_text="Always false.")
    error = ErrorDetailSerializer()
    request_id = serializers.CharField(allow_null=True, help_text="Quote it to support.")


def error_responses(*classes: type[ApiError]) -> dict[int, OpenApiResponse]:
    """One documented response per status, listing its codes, with an example body for each."""
    by_status: dict[int, list[type[ApiError]]] = defaultdict(list)
    for cls in classes:
        by_status[cls.status].append(cls)
    return {
        status: OpenApiResponse(
            ErrorSerializer,
            description="; ".join(f"`{cls.code}`: {cls.default_message}" for cls in members),
            examples=[
                OpenApiExample(cls.code, value=error_body(cls.code, cls.default_message, EXAMPLE_REQUEST_ID),
                               status_codes=[status], response_only=True)
                for cls in members
            ],
        )
        for status, members in sorted(by_status.items())
    }


def response_headers(*, success_status: int = 200) -> list[OpenApiParameter]:
    """The headers the contract promises: quota on success and 429, Retry-After, WWW-Authenticate."""
    quota = [
        OpenApiParameter(name, OpenApiTypes.INT, OpenApiParameter.HEADER, description=text,
                         response=[success_status, 429])
        for name, text in RATE_LIMIT_HEADERS.items()
    ]
    return [
        *quota,
        OpenApiParameter("Retry-After", OpenApiTypes.INT, OpenApiParameter.HEADER, description=RETRY_AFTER,
                         response=[429]),
        OpenApiParameter("WWW-Authenticate", OpenApiTypes.STR, OpenApiParameter.HEADER,
                         description=WWW_AUTHENTICATE, response=[401]),
    ]
