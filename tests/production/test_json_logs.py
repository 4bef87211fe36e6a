"""Production logs one JSON object per line, with the fields a filter or ``extra=`` adds."""

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
        logging.getLogger("upscale.tasks").warning("upscale %s failed", "req_ups_x", extra={"request_id": "req_ups_x"})
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
    assert line.endswith("WARNING upscale.tasks upscale req_ups_x failed")


def test_the_request_id_rides_along_into_the_task_message_and_back_out() -> None:
    import logging
    from types import SimpleNamespace

    from artnex import logcontext

    logcontext.bind("req_ups_abc")
    headers: dict[str, str] = {}
    logcontext._carry(headers=headers)
    assert headers == {logcontext.HEADER: "req_ups_abc"}

    logcontext.bind(None)  # the worker process: nothing bound until its task starts
    task = SimpleNamespace(request=SimpleNamespace(get=headers.get))
    logcontext._adopt(task=task)
    record = logging.LogRecord("upscale.tasks", logging.INFO, __file__, 1, "upscale started", None, None)
    assert logcontext.RequestIdFilter().filter(record) and record.request_id == "req_ups_abc"
    logcontext._drop(task=task)
    assert logcontext.current() is None
