"""/metrics: requests by status and error code, latency, queue depth, upscale durations per
model, credits; added up across the processes of a host (PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.images import data_uri, image_bytes

pytestmark = pytest.mark.django_db(transaction=True)
REPO = Path(__file__).resolve().parents[2]


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_status_and_error_code(client, api, customer) -> None:
    before = scrape(client)
    api.upscale({"image": data_uri(image_bytes("PNG", (8, 8))), "scale": 9}, key=customer.key)
    api.upscale({"image": data_uri(image_bytes("PNG", (8, 8)))}, key="ak_live_wrong")
    after = scrape(client)

    def delta(status: str, code: str) -> float:
        labels = {"view": "upscale:upscale", "method": "POST", "status": status, "error_code": code}
        name = "artnex_http_requests_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("400", "invalid_scale") == 1
    assert delta("401", "invalid_api_key") == 1
    count = {"view": "upscale:upscale", "method": "POST"}
    assert value(after, "artnex_http_request_duration_seconds_count", **count) - value(
        before, "artnex_http_request_duration_seconds_count", **count) == 2


def test_an_upscale_records_its_duration_per_model_and_the_credits(client, api, customer) -> None:
    before = scrape(client)
    response = api.upscale({"image": data_uri(image_bytes("PNG", (16, 16))), "scale": 2}, key=customer.key)
    assert response.status_code == 200, response.json()
    after = scrape(client)
    model = response.json()["model"]
    labels = {"model": model, "outcome": "succeeded"}
    assert value(after, "artnex_upscale_duration_seconds_count", **labels) - value(
        before, "artnex_upscale_duration_seconds_count", **labels) == 1
    charged = value(after, "artnex_credits_total", kind="charge") - value(before, "artnex_credits_total", kind="charge")
    assert charged == response.json()["credits_used"]


def test_queue_depth_is_reported_per_queue(client) -> None:
    samples = scrape(client)
    assert ("artnex_queue_depth", (("queue", "upscale"),)) in samples
    assert ("artnex_queue_depth", (("queue", "housekeeping"),)) in samples


def test_processes_of_a_host_add_up(tmp_path) -> None:
    """Two processes count into one PROMETHEUS_MULTIPROC_DIR; a third one's /metrics shows the sum."""
    count = textwrap.dedent("""
        import django; django.setup()
        from artnex.metrics import REQUESTS
        REQUESTS.labels("upscale:upscale", "POST", "402", "insufficient_credits").inc()
    """)
    show = textwrap.dedent("""
        import django; django.setup()
        from django.test import Client
        print(Client().get("/metrics").content.decode())
    """)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "artnex.settings"}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], cwd=REPO, env=env, check=True, timeout=120)
    shown = subprocess.run([sys.executable, "-c", show], cwd=REPO, env=env, check=True, timeout=120,
                           capture_output=True, text=True).stdout
    assert ('artnex_http_requests_total{error_code="insufficient_credits",method="POST",status="402",'
            'view="upscale:upscale"} 2.0') in shown
