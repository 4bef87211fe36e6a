"""Every shape of the status body (queued, succeeded, deleted, failed) and the account body
validate against the served OpenAPI schema, including the ones the fuzzing cannot reach in
the unit tier (an eager task finishes before the 202 is written)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tests.images import data_uri, image_bytes
from upscale import engine, services

pytestmark = pytest.mark.django_db(transaction=True)
IMAGE = data_uri(image_bytes())


def as_json_schema(node: Any, components: dict[str, Any]) -> Any:
    """An OpenAPI 3.0 schema as plain JSON Schema: references inlined, ``nullable`` as a type."""
    if isinstance(node, list):
        return [as_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return as_json_schema(components[node["$ref"].rsplit("/", 1)[-1]], components)
    converted = {key: as_json_schema(value, components) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@pytest.fixture
def response_schema(client):
    schema = client.get("/v1/openapi.json").json()
    components = schema["components"]["schemas"]

    def for_operation(path: str, method: str, status: str) -> dict[str, Any]:
        body = schema["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
        return as_json_schema(body, components)

    return for_operation


def check(body: Any, schema: dict[str, Any]) -> None:
    jsonschema.validate(body, schema)


def test_queued_and_succeeded_and_deleted(v1, customer, response_schema, monkeypatch) -> None:
    status_schema = response_schema("/v1/upscale/{request_id}", "get", "200")
    queued_202 = response_schema("/v1/upscale", "post", "202")
    waiting: list[str] = []
    monkeypatch.setattr(services.process_upscale, "apply_async", lambda args, **options: waiting.append(args[0]))
    accepted = v1.post({"image": IMAGE, "async": True}, customer.key).json()
    assert accepted["status"] == "queued"
    check(accepted, queued_202)
    check(v1.get(f"/v1/upscale/{accepted['request_id']}", customer.key).json(), status_schema)

    monkeypatch.undo()
    done = v1.post({"image": IMAGE}, customer.key).json()
    succeeded = v1.get(f"/v1/upscale/{done['request_id']}", customer.key).json()
    assert succeeded["status"] == "succeeded"
    check(succeeded, status_schema)
    check(done, response_schema("/v1/upscale", "post", "200"))
    deleted = v1.delete(f"/v1/upscale/{done['request_id']}", customer.key).json()
    assert deleted["image_url"] is None
    check(deleted, response_schema("/v1/upscale/{request_id}", "delete", "200"))
    # A schema that allowed anything would pass the above: it must refuse a wrong type.
    with pytest.raises(jsonschema.ValidationError):
        check({**succeeded, "width": "wide"}, status_schema)


def test_failed(v1, customer, response_schema, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise engine.EngineError("boom")

    monkeypatch.setattr(engine, "upscale_bytes", broken)
    request_id = v1.post({"image": IMAGE, "async": True}, customer.key).json()["request_id"]
    failed = v1.get(f"/v1/upscale/{request_id}", customer.key).json()
    assert failed["status"] == "failed"
    check(failed, response_schema("/v1/upscale/{request_id}", "get", "200"))


def test_account(v1, customer, response_schema) -> None:
    check(v1.get("/v1/account", customer.key).json(), response_schema("/v1/account", "get", "200"))
