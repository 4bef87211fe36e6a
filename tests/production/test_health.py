"""/healthz says the process answers; /readyz says each dependency is reachable, or which is not."""

from __future__ import annotations

import pytest

from artnex import readiness

pytestmark = pytest.mark.django_db


def test_ready_when_every_dependency_answers(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "storage", "model_weights"}
    assert all(check["ok"] for check in body["checks"].values())


def test_not_ready_with_the_broker_down(client, monkeypatch) -> None:
    from artnex.celery import app

    # Nothing listens on port 1 of loopback: the connection is refused at once.
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert broker["ok"] is False and "Error" in broker["detail"]
    assert response.json()["checks"]["database"]["ok"] is True


def test_not_ready_without_model_weights(client, monkeypatch, tmp_path) -> None:
    from upscale.engine.config import EngineConfig

    empty = EngineConfig(model_dir=tmp_path, default_model="realesr-animevideov3", allow_download=False)
    monkeypatch.setattr("upscale.readiness.engine_config", lambda: empty)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "downloads are disabled" in response.json()["checks"]["model_weights"]["detail"]


def test_a_check_that_raises_is_reported_not_propagated(client, monkeypatch) -> None:
    def storage_down() -> str:
        raise PermissionError("403 Forbidden")

    monkeypatch.setattr(readiness, "storage", storage_down)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == {"ok": False, "detail": "PermissionError: 403 Forbidden",
                                                     "ms": response.json()["checks"]["storage"]["ms"]}


def test_probes_are_exempt_from_the_https_redirect(client, settings) -> None:
    """Load balancers and Prometheus talk plain HTTP to the process inside the network."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/").status_code == 301


def test_a_shared_cache_outage_answers_503_and_charges_nothing(api, customer, settings) -> None:
    """With one Redis as cache and broker, its outage shows first in the rate-limit check."""
    from tests.images import data_uri, image_bytes

    # Nothing listens on port 1 of loopback: every cache call is refused.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    response = api.upscale({"image": data_uri(image_bytes("PNG", (8, 8)))}, key=customer.key)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert customer.refresh().credits == 1000


def test_a_database_outage_answers_503_not_500(api, customer, monkeypatch) -> None:
    """PostgreSQL restarting: the first query (the API key's) cannot connect. The client may
    retry later, so the contract's 503, not a 500 that reads as our bug; nothing was charged."""
    from django.db import OperationalError

    from accounts import keys
    from tests.images import data_uri, image_bytes

    def refused(token: str) -> None:
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    monkeypatch.setattr(keys, "find_active_key", refused)
    response = api.upscale({"image": data_uri(image_bytes("PNG", (8, 8)))}, key=customer.key)
    assert response.status_code == 503, response.content
    error = response.json()["error"]
    assert error["code"] == "service_unavailable" and "Idempotency-Key" in error["message"]
    monkeypatch.undo()
    assert customer.refresh().credits == 1000
