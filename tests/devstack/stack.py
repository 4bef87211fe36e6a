"""The product as production runs it, on one machine: the Procfile's web, N upscale workers,
the housekeeping worker and beat as separate processes, with ``ARTNEX_ENV=production``, on a
PostgreSQL database and two Redis servers of the stack's own (the broker, persistent as a
production broker is, and the shared cache). Every address is on loopback.

bench/load.py drives it and breaks it: a worker's pool process or a whole worker killed
mid-job (and replaced), the web's gunicorn worker killed (gunicorn respawns it), the broker or
the cache restarted.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from artnex import local_setup

from . import manage, postgres, processes, redis_server
from .http import http
from .postgres_server import PrivateServer

LOOPBACK = "127.0.0.1"
# What the stack's processes take from the caller's environment: nothing that configures the
# product (a test tier's DATABASE_URL, ARTNEX_WAIT_SECONDS, ...); the stack sets its own.
_PRODUCT_PREFIXES = ("ARTNEX_", "DJANGO_", "CELERY_", "STRIPE_", "AWS_", "PROMETHEUS_")
_PRODUCT_NAMES = {"DATABASE_URL", "CACHE_URL", "EMAIL_URL", "HOST", "PORT", "LOG_LEVEL", "PYTEST_CURRENT_TEST"}
_STOP_BOUND_S = 30.0


@dataclass(frozen=True)
class StackOptions:
    folder: Path  # logs, the broker's data, local result files
    model_dir: Path
    database_server: str  # a PostgreSQL URL; the stack makes a database of its own there
    workers: int = 2
    # Environment over the production defaults below (time limits, the default model, ...).
    settings: Mapping[str, str] = field(default_factory=dict)
    # The server behind database_server when it is the stack's own (postgres_server.py), which
    # a fault may restart; None: a shared server, never touched.
    private_database: PrivateServer | None = None


def _caller_environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items()
            if not key.startswith(_PRODUCT_PREFIXES) and key not in _PRODUCT_NAMES}


def production_environment(options: StackOptions, database_url: str, broker_port: int, cache_port: int,
                           web_port: int) -> dict[str, str]:
    """What an operator sets (docs/deploy.md), for one machine: TLS would end at a proxy, so
    the process itself neither redirects nor sends HSTS; mail goes to the log."""
    env = _caller_environment()
    env.update(
        ARTNEX_ENV="production", DJANGO_SETTINGS_MODULE="artnex.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50), ARTNEX_API_KEY_PEPPER=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS=LOOPBACK, ARTNEX_SSL_REDIRECT="0", ARTNEX_HSTS_SECONDS="0",
        ARTNEX_ALLOW_CONSOLE_EMAIL="1",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=f"redis://{LOOPBACK}:{broker_port}/0",
        CACHE_URL=f"rediscache://{LOOPBACK}:{cache_port}/0",
        ARTNEX_VAR_DIR=str(options.folder / "var"),
        ARTNEX_MODEL_DIR=str(options.model_dir), ARTNEX_ALLOW_MODEL_DOWNLOAD="0",
        HOST=LOOPBACK, PORT=str(web_port),
        PATH=processes.path_with_venv(os.environ.copy()),
    )
    env.update(options.settings)
    return env


class ServiceStack:
    def __init__(self, options: StackOptions, database_url: str) -> None:
        self.options = options
        self.folder = options.folder
        self.broker_port, self.cache_port, web_port = (processes.free_port() for _ in range(3))
        self.env = production_environment(options, database_url, self.broker_port, self.cache_port, web_port)
        self.url = f"http://{LOOPBACK}:{web_port}"
        self._broker_argv = redis_server.argv(LOOPBACK, self.broker_port, self.folder / "broker-data")
        self._cache_argv = redis_server.argv(LOOPBACK, self.cache_port)
        self.restarts: Counter[str] = Counter()  # per server name: names each new log
        self.broker: processes.Process | None = None
        self.cache: processes.Process | None = None
        self.web: processes.Process | None = None
        self.workers: list[processes.Process] = []
        self.services: list[processes.Process] = []  # housekeeping, beat

    def _start(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> processes.Process:
        return processes.start(name, argv, dict(env or self.env), self.folder / f"{name}.log")

    def start(self) -> None:
        (self.folder / "broker-data").mkdir(parents=True, exist_ok=True)
        local_setup.prepare(Path(self.env["ARTNEX_VAR_DIR"]))
        self.broker = self._start("broker", self._broker_argv)
        self.cache = self._start("cache", self._cache_argv)
        redis_server.wait_until_answering((LOOPBACK, self.broker_port), self.broker)
        redis_server.wait_until_answering((LOOPBACK, self.cache_port), self.cache)
        manage.manage(self.env, "migrate", "--noinput")
        manage.manage(self.env, "collectstatic", "--noinput", "--verbosity", "0")
        self.web = web = self._start("web", processes.command("web"))
        for _ in range(self.options.workers):
            self.add_worker(wait=False)
        for name in ("housekeeping", "beat"):
            self.services.append(self._start(name, processes.command(name)))
        for worker in self.workers:
            worker.wait_for(" ready.")
        processes.wait_until(lambda: http("GET", f"{self.url}/readyz", timeout=10).status == 200,
                             f"the web process never answered {self.url}/readyz", web)

    def add_worker(self, wait: bool = True) -> processes.Process:
        """One more upscale worker (concurrency 1, as one per GPU): the Procfile's line."""
        name = f"worker{len(self.workers) + 1}"
        worker = self._start(name, processes.command("worker"), {**self.env, "ARTNEX_WORKER_NAME": name})
        self.workers.append(worker)
        if wait:
            worker.wait_for(" ready.")
        return worker

    def worker_running(self, request_id: str) -> processes.Process | None:
        """The worker whose log says it started this request (the last to, after a re-delivery)."""
        started = [worker for worker in self.workers if f"upscale {request_id} started" in worker.text()]
        return started[-1] if started else None

    def web_workers(self) -> list[int]:
        """gunicorn's worker processes: the Procfile's shell execs gunicorn, so the web process
        is gunicorn's master, and it respawns a worker that dies."""
        assert self.web is not None, "the stack was not started"
        return processes.children(self.web.pid)

    def kill_web_workers(self) -> list[int]:
        """SIGKILL to every gunicorn worker (the OOM killer's way): its open requests die with
        it, the master lives on. Returns the pids killed."""
        killed = self.web_workers()
        for pid in killed:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return killed

    def web_answers(self) -> bool:
        with suppress(OSError):
            return http("GET", f"{self.url}/readyz", timeout=10).status == 200
        return False

    def restart_broker(self, down_s: float) -> None:
        """Stop the broker as its service manager does (SIGTERM: it writes its append-only file
        and exits), leave it down ``down_s``, start it again on the same port and data."""
        assert self.broker is not None, "the stack was not started"
        self.broker = self._restart(self.broker, self._broker_argv, self.broker_port, down_s)

    def restart_cache(self, down_s: float) -> None:
        """The same for the cache, which keeps nothing: it comes back empty."""
        assert self.cache is not None, "the stack was not started"
        self.cache = self._restart(self.cache, self._cache_argv, self.cache_port, down_s)

    def _restart(self, server: processes.Process, argv: list[str], port: int, down_s: float) -> processes.Process:
        server.popen.send_signal(signal.SIGTERM)
        server.popen.wait(timeout=_STOP_BOUND_S)
        time.sleep(down_s)
        base = server.name.split("-")[0]
        self.restarts[base] += 1
        again = self._start(f"{base}-{self.restarts[base] + 1}", argv)
        redis_server.wait_until_answering((LOOPBACK, port), again)
        return again

    def restart_database(self, down_s: float) -> None:
        """Fast shutdown of the stack's own PostgreSQL server, down ``down_s``, started again."""
        assert self.options.private_database is not None, "the stack runs on a shared PostgreSQL server"
        self.options.private_database.restart(down_s)

    def create_customer(self, email: str, credits: int, plan: str) -> str:
        return manage.create_customer(self.env, email, credits, plan)

    def stop(self) -> None:
        """The web first (no new work), then the workers (warm shutdown), then the services."""
        for process in [self.web, *self.workers, *reversed(self.services), self.cache, self.broker]:
            if process is not None:
                with suppress(subprocess.TimeoutExpired, OSError):
                    process.stop()


@contextmanager
def running(options: StackOptions) -> Iterator[ServiceStack]:
    """Start the stack on a database of its own; stop it and drop the database afterwards."""
    options.folder.mkdir(parents=True, exist_ok=True)
    with postgres.own_database(options.database_server, "artnex_load") as database_url:
        stack = ServiceStack(options, database_url)
        try:
            stack.start()
            yield stack
        finally:
            stack.stop()
