"""The integration tier: PostgreSQL, Redis and a real Celery worker process.

Run through ``python -m artnex.integration_env -- pytest -m integration`` (``make test`` does),
which points the settings at the services and sets ARTNEX_INTEGRATION=1. Without it every test
here skips, so the unit tier can never pick them up by accident.
"""

from __future__ import annotations

import os
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

from artnex import integration_env
from tests.devstack.http import Answer, http, post_upscale

__all__ = ["INTEGRATION", "Answer", "http", "needs_services", "optional_service", "post_upscale", "unavailable"]

INTEGRATION = os.environ.get("ARTNEX_INTEGRATION") == "1"

needs_services = pytest.mark.skipif(
    not INTEGRATION,
    reason="integration tier: run through `python -m artnex.integration_env` (ARTNEX_INTEGRATION=1)",
)


def optional_service(name: str) -> str:
    """The URL of a service only some tests of the tier use (artnex.integration_env.OPTIONAL),
    once it answers. Otherwise the test is skipped with the reason, or, with
    ARTNEX_REQUIRE_INTEGRATION=1 (CI), failed: the rule the tier applies to its own services."""
    url = integration_env.service_url(name)
    if integration_env.answers(url):
        return url
    parts = urlsplit(url)
    unavailable(f"no answer from {name} ({parts.scheme}://{parts.hostname}:{parts.port}, ARTNEX_TEST_{name})",
                "start it to run this test")


def unavailable(message: str, remedy: str) -> NoReturn:
    """Skip a test for something this machine lacks, or under ARTNEX_REQUIRE_INTEGRATION=1 (CI) fail it."""
    if integration_env.required():
        pytest.fail(f"{message}; ARTNEX_REQUIRE_INTEGRATION=1 requires it")
    pytest.skip(f"{message}: {remedy}")
