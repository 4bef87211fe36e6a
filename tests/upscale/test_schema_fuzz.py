"""Schemathesis against /v1/openapi.json: generated requests to every operation find no 5xx
and no answer that breaks the schema (status, content type, headers, body).

Bounded and seeded for `make test`; `make fuzz` sets ARTNEX_FUZZ_EXAMPLES higher. The schema's
explicit examples include a real 8x8 image, so the success bodies (200 and 202) are checked
with real upscales, not only the refusals. No name is resolved: every host a generated URL
names is refused by the resolver, so nothing leaves the machine.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from artnex import safe_http

pytestmark = pytest.mark.django_db(transaction=True)
EXAMPLES = int(os.environ.get("ARTNEX_FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]


def _no_dns(host: str, port: int) -> list[str]:
    raise OSError(f"the fuzz test resolves no names ({host})")


@pytest.fixture(autouse=True)
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safe_http, "_system_resolver", _no_dns)


@pytest.fixture
def fuzz_key(make_customer, settings_override) -> str:
    # Rich and unthrottled, so that valid requests are judged on their content, not refused
    # for money or speed (those answers have tests of their own).
    return make_customer(credits=10_000_000, plan="pro", daily_quota=1_000_000).key


@pytest.fixture
def settings_override(settings) -> None:
    settings.ARTNEX_BURST_RATE = "100000/m"


# Read from the app itself (WSGI, in this process): the schema the service serves.
schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", get_wsgi_application())


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_matches_its_schema(case, fuzz_key) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_key}"}, checks=CHECKS)
