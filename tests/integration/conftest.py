"""A real Celery worker process for the integration tier, on the pytest-django test database.

The worker is started once per session, after the test database exists, with the test
process's own environment (model folder, default model, var dir for shared local files,
Redis broker) and DATABASE_URL naming the *test* database. Tests use ``live_server`` and
transactional tests, so every row the worker must see is committed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from tests.integration import INTEGRATION

REPO = Path(__file__).resolve().parents[2]
# Guards against a hung start or stop, not measurements: a healthy worker is far quicker.
_READY_BOUND_S = 180.0
_STOP_BOUND_S = 30.0
_LOG_TAIL_LINES = 200
_worker_logs: list[Path] = []


class Worker:
    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def assert_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"the Celery worker exited with {self.process.returncode}:\n{self.log_tail()}")

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + _READY_BOUND_S
        # Celery logs "celery@<host> ready." once the pool is up and it consumes the queue.
        while " ready." not in self.log_text():
            self.assert_alive()
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"the Celery worker did not get ready:\n{self.log_tail()}")
            time.sleep(0.2)

    def stop(self) -> int | None:
        """Warm shutdown (SIGTERM to the main process, which ends its pool), then make sure
        nothing of its process group is left, whatever state it was in."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=_STOP_BOUND_S)
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=_STOP_BOUND_S)
        return self.process.returncode


def _test_database_url(test_db_name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return parts._replace(path="/" + quote(test_db_name)).geturl()


def worker_environment(test_db_name: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=_test_database_url(test_db_name),
        CELERY_TASK_ALWAYS_EAGER="0",
        # Two pool processes share the CPUs: one PyTorch thread each avoids oversubscription.
        ARTNEX_THREADS=env.get("ARTNEX_THREADS") or "1",
    )
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


def _forget_leftover_tasks() -> None:
    """Messages an earlier, interrupted run left on the test broker name rows that no longer
    exist; dropping them keeps the worker's first minutes for this run."""
    from artnex.celery import app

    app.control.purge()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    if not INTEGRATION:
        pytest.skip("integration tier only (ARTNEX_INTEGRATION=1)")
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection

    assert not settings.CELERY_TASK_ALWAYS_EAGER, "the integration tier needs a real worker"
    assert connection.vendor == "postgresql", "the integration tier runs on PostgreSQL"
    _forget_leftover_tasks()
    cache.clear()  # rate-limit counters of earlier runs (ids restart with the test database)

    log = tmp_path_factory.mktemp("celery") / "worker.log"
    _worker_logs.append(log)
    command = [
        sys.executable, "-m", "celery", "-A", "artnex", "worker", "--queues", "upscale",
        "--concurrency", "2", "--pool", "prefork", "--loglevel", "INFO",
        "--without-gossip", "--without-mingle", "--hostname", f"artnex-test-{os.getpid()}@%h",
    ]
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, cwd=REPO, env=worker_environment(connection.settings_dict["NAME"]),
            stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )
    worker = Worker(process, log)
    try:
        worker.wait_until_ready()
        yield worker
    finally:
        # Before django_db_setup's teardown: the test database cannot be dropped while the
        # worker holds connections to it.
        died_early = process.poll() is not None
        code = worker.stop()
        if died_early:
            pytest.fail(f"the Celery worker died during the session (exit {code}):\n{worker.log_tail()}")


@pytest.fixture
def worker(celery_worker: Worker) -> Iterator[Worker]:
    """The session's worker, checked alive around each test that relies on it."""
    celery_worker.assert_alive()
    yield celery_worker
    celery_worker.assert_alive()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    if report.failed and _worker_logs and "celery_worker" in getattr(item, "fixturenames", ()):
        lines = _worker_logs[-1].read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
        report.sections.append(("celery worker log (tail)", "\n".join(lines)))
    return report
