"""The real `make run` stack in subprocesses, started and stopped the way a person would: the
harness that tests/stack's modules share."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.devstack.http import Answer, http, post_upscale
from tests.devstack.manage import create_customer, manage
from tests.devstack.processes import free_port, session_members

REPO = Path(__file__).resolve().parents[2]
PRICE = 100  # the embedded default of ARTNEX_PRICE_CREDITS
# Guards against a hang, not measurements: the stack is up and answering far sooner.
_START_BOUND_S = 90.0
_STOP_BOUND_S = 40.0
# What `make run` sees on a developer's machine: none of the test tiers' switches.
_NOT_PASSED_ON = (
    "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS",
    "ARTNEX_ENV", "ARTNEX_VAR_DIR", "ARTNEX_MEDIA_ROOT", "ARTNEX_S3_BUCKET", "ARTNEX_PUBLIC_URL",
    "ARTNEX_API_KEY_PEPPER", "ARTNEX_INTEGRATION", "ARTNEX_WAIT_SECONDS", "ARTNEX_BURST_RATE",
    "PYTEST_CURRENT_TEST", "PORT", "HOST",
)


def assert_downloads_png(url: str, size: tuple[int, int]) -> None:
    download = http("GET", url)
    assert download.status == 200, download.body[:300]
    assert download.headers["Content-Type"] == "image/png"
    result = Image.open(io.BytesIO(download.body))
    assert (result.format, result.size) == ("PNG", size)


class Stack:
    def __init__(self, var_dir: Path, log: Path, env: Mapping[str, str] | None = None) -> None:
        """``env``: settings of this stack's own (``CELERY_BROKER_URL``, ...), applied over the
        defaults below; so a test can also pass what _NOT_PASSED_ON keeps from the caller."""
        model_dir = os.environ.get("ARTNEX_MODEL_DIR")
        if not model_dir:
            pytest.fail("ARTNEX_MODEL_DIR is not set: the stack needs the model weights (../shared/models)")
        environment = {key: value for key, value in os.environ.items() if key not in _NOT_PASSED_ON}
        environment.update(
            ARTNEX_VAR_DIR=str(var_dir),
            ARTNEX_MODEL_DIR=model_dir,
            ARTNEX_DEFAULT_MODEL="realesr-animevideov3",
            ARTNEX_ALLOW_MODEL_DOWNLOAD="0",
            ARTNEX_ALLOW_PRIVATE_URLS="1",  # the URL input below is a server on this machine
            # The pytest process runs tasks eagerly; the stack must use its worker.
            CELERY_TASK_ALWAYS_EAGER="0",
            DJANGO_SETTINGS_MODULE="artnex.settings",
        )
        environment.update(env or {})
        self.env = environment
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def manage(self, *args: str) -> str:
        return manage(self.env, *args)

    def create_customer(self, email: str, credits: int, plan: str = "free") -> str:
        return create_customer(self.env, email, credits, plan)

    def start(self) -> None:
        with self.log.open("wb") as handle:
            # Its own session, so that make and honcho can be signalled together, as Ctrl-C does.
            # VENV: the virtual environment running these tests, wherever it lives.
            self.process = subprocess.Popen(
                ["make", "--no-print-directory", "run", f"PORT={self.port}", f"VENV={sys.prefix}"], cwd=REPO,
                env=self.env, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def process_sessions(self) -> list[int]:
        """make's session, and the one honcho gives each Procfile process (its pid)."""
        assert self.process is not None
        started = re.findall(r"\b\w+\.\d+ started \(pid=(\d+)\)", self.output())
        return [self.process.pid, *(int(pid) for pid in started)]

    def stopped_codes(self) -> dict[str, str]:
        """What honcho reports for each process it stopped: {"web": "0", ...}."""
        return dict(re.findall(r"\b(\w+)\.\d+ stopped \(rc=(-?\d+)\)", self.output()))

    def assert_stopped_cleanly(self) -> None:
        """After :meth:`serving`: honcho stopped every Procfile process, and all but the worker
        exited 0. The worker starts a warm shutdown; honcho kills whatever still runs 5 s later,
        which on a loaded machine can be the worker (a task it was running is redelivered:
        acks_late), so its status is not asserted."""
        codes = self.stopped_codes()
        assert (set(codes), codes.get("web"), codes.get("beat"), codes.get("housekeeping")) == (
            {"web", "worker", "beat", "housekeeping"}, "0", "0", "0"), self.output()
        assert "worker: Warm shutdown" in self.output()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 150) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def wait_until_serving(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + _START_BOUND_S
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"the stack exited with {self.process.returncode}:\n{self.output()}")
            with suppress(OSError):
                if http("GET", f"{self.url}/healthz").status == 200:
                    return
            if time.monotonic() > deadline:
                pytest.fail(f"the stack did not answer on {self.url}/healthz:\n{self.output()}")
            time.sleep(0.3)

    @contextmanager
    def serving(self) -> Iterator[Stack]:
        """Start the stack, yield it once it answers, stop it, and fail if any process outlives it."""
        self.start()
        try:
            self.wait_until_serving()
            yield self
        finally:
            left = self.stop()
        assert not left, f"processes left behind by the stack: {left}\n{self.output()}"

    def stop(self) -> list[int]:
        """SIGTERM to make and honcho (what a terminal's Ctrl-C does with SIGINT); honcho ends
        the Procfile's processes. Whatever is still alive after that is killed, and returned
        so the test can fail on it."""
        if self.process is None:
            return []
        sessions = self.process_sessions()
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_BOUND_S
        while any(session_members(session) for session in sessions) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [pid for session in sessions for pid in session_members(session)]
        for pid in left:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=_STOP_BOUND_S)
        return left

    def upscale(self, key: str, body: dict[str, Any]) -> Answer:
        return post_upscale(self.url, key, body)

    def wait_for_line(self, *parts: str) -> str:
        """The first output line holding all ``parts``; the worker may log just after the answer."""
        deadline = time.monotonic() + _START_BOUND_S
        while True:
            for line in self.output().splitlines():
                if all(part in line for part in parts):
                    return line
            if time.monotonic() > deadline:
                pytest.fail(f"no line with {parts} in the stack output:\n{self.tail()}")
            time.sleep(0.2)


def module_stack(tmp_path_factory: pytest.TempPathFactory, name: str,
                 env: Mapping[str, str] | None = None) -> Iterator[Stack]:
    """A test module's stack: started once, stopped at the end, and the stop asserted clean
    (``yield from`` it in a module-scoped fixture)."""
    folder = tmp_path_factory.mktemp(name)
    running = Stack(folder / "var", folder / "stack.log", env=env)
    with running.serving():
        yield running
    running.assert_stopped_cleanly()
