"""The compose file runs the same process commands as ``make run`` (the Procfile), which the
scale-out tests execute for real; no container engine runs here, so that is what is checked."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from artnex import stack

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def procfile_command(name: str) -> list[str]:
    argv = stack.commands(8000, "0.0.0.0")[name]
    return ["python" if part == sys.executable else part for part in argv]


def test_compose_services_run_the_procfile_commands(monkeypatch) -> None:
    monkeypatch.setenv("ARTNEX_WAIT_SECONDS", "300")  # the production wait (tests shorten it)
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    assert services["web"]["command"] == procfile_command("web")
    assert services["beat"]["command"] == procfile_command("beat")
    # A GPU worker is the Procfile's worker, pinned to its GPU.
    assert services["worker"]["command"] == [*procfile_command("worker"), "--gpu", "0"]
    assert {"postgres", "redis", "minio"} <= set(services)


def test_images_default_to_production_and_the_right_device() -> None:
    for name, device in (("Dockerfile", "cpu"), ("Dockerfile.cuda", "cuda")):
        text = (DEPLOY / name).read_text()
        assert "ARTNEX_ENV=production" in text and f"ARTNEX_DEVICE={device}" in text
        assert "PROMETHEUS_MULTIPROC_DIR=" in text
