"""Production logs one JSON object per line, with the request id the line is about."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def log_lines(log_format: str) -> list[str]:
    code = textwrap.dedent("""
        import logging, django
        django.setup()
        from artnex import ids
        with ids.bound("req_ups_x"):
            logging.getLogger("upscale.tasks").warning("upscale %s failed", "req_ups_x")
    """)
    env = {**os.environ, "ARTNEX_LOG_FORMAT": log_format, "DJANGO_SETTINGS_MODULE": "artnex.settings"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120, check=True)
    return result.stderr.strip().splitlines()


def test_json_lines_carry_level_logger_message_and_request_id() -> None:
    (line,) = log_lines("json")
    record = json.loads(line)
    assert record["level"] == "WARNING"
    assert record["logger"] == "upscale.tasks"
    assert record["message"] == "upscale req_ups_x failed"
    assert record["request_id"] == "req_ups_x"
    assert record["time"] and isinstance(record["process"], int)


def test_plain_lines_for_a_person_at_a_terminal() -> None:
    (line,) = log_lines("plain")
    assert line.endswith("WARNING upscale.tasks [req_ups_x] upscale req_ups_x failed")

