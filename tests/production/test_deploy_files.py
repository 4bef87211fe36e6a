"""The images and the compose file run the Procfile's own lines (through honcho, as `make run`
does), which the scale-out tests execute for real; no container engine runs here, so that is
what is checked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from tests.devstack.processes import procfile

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def honcho(name: str) -> list[str]:
    return ["honcho", "start", "--no-colour", "--no-prefix", name]


def test_compose_services_run_procfile_processes() -> None:
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    for name in ("web", "worker", "beat", "housekeeping"):
        assert name in procfile()
        assert services[name]["command"] == honcho(name)
    assert services["worker"]["environment"]["ARTNEX_GPU"] == "0"
    assert services["web"]["environment"]["HOST"] == "0.0.0.0"
    assert {"postgres", "redis", "minio"} <= set(services)


def test_compose_creates_the_bucket_before_artnex_starts() -> None:
    """Artnex never creates buckets (production credentials should not allow it): a one-shot
    step makes ARTNEX_S3_BUCKET once MinIO is healthy, and every Artnex service waits for it."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    bucket = compose["x-artnex"]["environment"]["ARTNEX_S3_BUCKET"]
    step = compose["services"]["minio-bucket"]
    assert f"mc mb --ignore-existing artnex/{bucket}" in " ".join(step["entrypoint"])
    assert step["depends_on"]["minio"]["condition"] == "service_healthy"
    assert compose["services"]["minio"]["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    for name in ("web", "worker", "beat", "housekeeping", "migrate"):
        waits_for = compose["services"][name]["depends_on"]["minio-bucket"]
        assert waits_for == {"condition": "service_completed_successfully"}


def test_long_running_services_start_after_the_migration() -> None:
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    for name in ("web", "worker", "beat", "housekeeping"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert {"postgres", "redis", "minio-bucket"} <= set(services[name]["depends_on"])
    assert "migrate" not in services["migrate"]["depends_on"]


def test_images_carry_every_folder_the_product_serves_from() -> None:
    """The apps, the templates and the static folder (the portal's CSS and scripts): each one
    the settings name must be copied into both images."""
    from django.conf import settings

    repo = DEPLOY.parent
    local_apps = {app.split(".")[0] for app in settings.INSTALLED_APPS if (repo / app.split(".")[0]).is_dir()}
    folders = {Path(d).relative_to(repo).parts[0] for d in
               [*settings.STATICFILES_DIRS, *(d for t in settings.TEMPLATES for d in t["DIRS"])]}
    needed = {"artnex"} | local_apps | folders
    assert {"accounts", "billing", "upscale", "templates", "static"} <= needed
    for name in ("Dockerfile", "Dockerfile.cuda"):
        text = (DEPLOY / name).read_text()
        assert all(f"COPY {folder} ./{folder}" in text for folder in sorted(needed)), (name, needed)


def test_housekeeping_and_upscales_are_served_by_separate_workers() -> None:
    assert "--queues housekeeping" in procfile()["housekeeping"]
    assert "--queues upscale" in procfile()["worker"] and "housekeeping" not in procfile()["worker"]


def test_images_default_to_production_and_the_right_device() -> None:
    for name, device, process in (("Dockerfile", "cpu", "web"), ("Dockerfile.cuda", "cuda", "worker")):
        text = (DEPLOY / name).read_text()
        assert "ARTNEX_ENV=production" in text and f"ARTNEX_DEVICE={device}" in text
        assert "PROMETHEUS_MULTIPROC_DIR=" in text and "Procfile" in text
        cmd = re.search(r"^CMD (.+)$", text, re.MULTILINE)
        assert cmd and json.loads(cmd.group(1)) == honcho(process)
