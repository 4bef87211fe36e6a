"""The landing page and the health check."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_home_shows_how_to_call_the_api(client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"/v1/upscale" in response.content
    assert b"realesrgan-x4plus" in response.content
    assert b"realesr-animevideov3</code>" in response.content  # the configured default model


def test_health(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_health_reports_a_broken_database(client, monkeypatch) -> None:
    from django.db import connection

    def broken(*args, **kwargs):
        raise ConnectionError("database down")

    monkeypatch.setattr(connection, "cursor", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
