"""/v1/openapi.json: generated from the serializers and error classes, valid, and complete
against the documented error codes and headers (docs/api.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from drf_spectacular.validation import validate_schema
from openapi_spec_validator import validate

from artnex.errors import error_classes

pytestmark = pytest.mark.django_db
DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
# "| 402 | `insufficient_credits` | ..." rows of the error table
_ERROR_ROW = re.compile(r"^\|\s*(\d{3})\s*\|\s*`([a-z_]+)`\s*\|", re.MULTILINE)
# Answered for any unknown path, so no operation lists it; it is in the codes' enum.
_NOT_AN_OPERATION_ERROR = {"not_found"}


def documented_errors() -> list[tuple[str, str]]:
    rows = _ERROR_ROW.findall(DOCS.read_text())
    assert len(rows) >= 10, "the error table of docs/api.md was not found"
    return rows


@pytest.fixture
def schema(client: Any) -> dict[str, Any]:
    response = client.get("/v1/openapi.json")  # no API key: the schema is public
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/")
    return response.json()


def component(schema: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The component schema a request or response body refers to."""
    return schema["components"]["schemas"][body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]]


@pytest.fixture
def upscale(schema: dict[str, Any]) -> dict[str, Any]:
    return schema["paths"]["/v1/upscale"]["post"]


def test_the_schema_is_valid_openapi(schema: dict[str, Any]) -> None:
    validate(schema)  # openapi-spec-validator: raises on any violation of the specification
    validate_schema(schema)  # drf-spectacular's own check of the same


def test_every_documented_error_code_is_in_the_schema(schema: dict[str, Any], upscale: dict[str, Any]) -> None:
    code = schema["components"]["schemas"]["ErrorDetail"]["properties"]["code"]
    enum = schema["components"]["schemas"][code["allOf"][0]["$ref"].rsplit("/", 1)[-1]]
    codes = set(enum["enum"])
    for status, code in documented_errors():
        assert code in codes
        if code in _NOT_AN_OPERATION_ERROR:
            continue
        # Documented on some operation with that status (request_in_progress is DELETE's only).
        examples = [
            example["value"]["error"]["code"]
            for path in schema["paths"].values() for operation in path.values()
            for example in operation["responses"].get(status, {}).get("content", {}).get("application/json", {})
            .get("examples", {}).values()
        ]
        assert code in examples, (status, code)


def test_every_error_class_is_documented(schema: dict[str, Any]) -> None:
    documented = {code for _, code in documented_errors()}
    assert {cls.code for cls in error_classes()} - {"bad_request"} <= documented


def test_documented_headers(upscale: dict[str, Any]) -> None:
    responses = upscale["responses"]
    quota = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}
    assert quota <= set(responses["200"]["headers"])
    assert quota | {"Retry-After"} <= set(responses["429"]["headers"])
    assert "WWW-Authenticate" in responses["401"]["headers"]


def test_bodies_come_from_the_serializers(schema: dict[str, Any], upscale: dict[str, Any]) -> None:
    request = component(schema, upscale["requestBody"])
    assert request["required"] == ["image"]
    scale = request["properties"]["scale"]
    assert (scale["minimum"], scale["maximum"], scale["default"]) == (
        settings.ARTNEX_MIN_SCALE, settings.ARTNEX_MAX_SCALE, settings.ARTNEX_DEFAULT_SCALE)
    success = component(schema, upscale["responses"]["200"])
    assert set(success["properties"]) == {"success", "image_url", "request_id", "credits_used", "expires_at", "width",
                                          "height", "scale", "model", "output_format"}
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http", "scheme": "bearer", "description": "An API key: ax_live_<prefix>_<secret>."}
