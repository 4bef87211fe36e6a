"""The integration tier: PostgreSQL, Redis and a real Celery worker process.

Run through ``python -m artnex.integration_env -- pytest -m integration`` (``make test`` does),
which points the settings at the services and sets ARTNEX_INTEGRATION=1. Without it every test
here skips, so the unit tier can never pick them up by accident.
"""

from __future__ import annotations

import os

import pytest

from tests.http_client import Answer, http, post_upscale

__all__ = ["INTEGRATION", "Answer", "http", "needs_services", "post_upscale"]

INTEGRATION = os.environ.get("ARTNEX_INTEGRATION") == "1"

needs_services = pytest.mark.skipif(
    not INTEGRATION,
    reason="integration tier: run through `python -m artnex.integration_env` (ARTNEX_INTEGRATION=1)",
)
