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


def test_pages_state_the_configured_terms(client, settings) -> None:
    """The price and the scale range on the pages come from the settings the API enforces."""
    settings.ARTNEX_PRICE_CREDITS, settings.ARTNEX_MAX_SCALE = 150, 3.0
    for path in ("/", "/docs/"):
        text = client.get(path).content.decode()
        assert "150 credits per image, any scale from 1 to 3." in text, path
        assert "100 credits" not in text and "1 to 4" not in text, path


def test_health(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_health_reports_a_broken_database(client, monkeypatch) -> None:
    from django.db import connection

    def broken(*args, **kwargs):
        raise ConnectionError("database down")

    monkeypatch.setattr(connection, "cursor", broken)
    # Liveness stays up (a restart cannot fix the database); readiness says what is wrong.
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["database"]["ok"] is False


def test_unknown_api_path_answers_json(client) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_a_bug_in_the_api_still_answers_the_contract_shape(api, customer, monkeypatch) -> None:
    from django.test import Client

    from upscale import intake

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(intake, "read_image", bug)
    client = Client(raise_request_exception=False)
    response = client.post("/v1/upscale", data='{"image": "data:,"}', content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {customer.key}")
    assert response.status_code == 500
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == "internal_error"
    assert body["request_id"].startswith("req_ups_")
    assert customer.refresh().credits == 1000
