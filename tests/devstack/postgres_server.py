"""A PostgreSQL server of a benchmark's own, for faults that stop the database: the machine's
shared server on 5432 is never stopped. Debian's binaries, run as the ``postgres`` user (the
server refuses root) in a temporary folder owned by it, on a free loopback port, trust auth.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg

from . import processes

LOOPBACK = "127.0.0.1"
_USER = "postgres"
_STOP_BOUND_S = 30.0


def binaries() -> Path:
    """The newest installed server's bin folder."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda path: int(path.parts[-3]))
    if not found:
        raise processes.ProcessFailed("no PostgreSQL server binaries under /usr/lib/postgresql")
    return found[-1].parent


def _as_postgres(*argv: str) -> list[str]:
    return ["runuser", "-u", _USER, "--", *argv]


@dataclass
class PrivateServer:
    folder: Path  # owned by postgres: the data, the socket, the logs
    port: int
    server: processes.Process | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"postgresql://{_USER}@{LOOPBACK}:{self.port}/postgres"

    def start(self) -> None:
        self.starts += 1
        argv = _as_postgres(str(binaries() / "postgres"), "-D", str(self.folder / "data"), "-p", str(self.port),
                            "-k", str(self.folder), "-c", f"listen_addresses={LOOPBACK}",
                            # A benchmark's throwaway data: durability is not what is measured.
                            "-c", "fsync=off", "-c", "max_connections=200")
        self.server = processes.start(f"postgres-{self.starts}", argv, dict(os.environ),
                                      self.folder / f"postgres-{self.starts}.log")
        processes.wait_until(self.answers, "the private PostgreSQL never answered", self.server,
                             transient=(OSError, psycopg.OperationalError))

    def answers(self) -> bool:
        with psycopg.connect(self.url, connect_timeout=2):
            return True

    def _postmaster(self) -> int | None:
        with suppress(OSError, ValueError, IndexError):
            return int((self.folder / "data" / "postmaster.pid").read_text().split()[0])
        return None

    def stop(self) -> None:
        """Fast shutdown (SIGINT to the postmaster): every session is cut off at once, open
        transactions roll back, as when the database host restarts its server."""
        pid = self._postmaster()
        if pid is not None:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
        if self.server is not None:
            with suppress(subprocess.TimeoutExpired):
                self.server.popen.wait(timeout=_STOP_BOUND_S)

    def restart(self, down_s: float) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()


@contextmanager
def private_server() -> Iterator[PrivateServer]:
    """A fresh cluster in a temporary folder, started; stopped and deleted afterwards."""
    owner = pwd.getpwnam(_USER)
    folder = Path(tempfile.mkdtemp(prefix="artnex-pg-"))
    try:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        subprocess.run(_as_postgres(str(binaries() / "initdb"), "-D", str(folder / "data"), "-U", _USER,
                                    "-A", "trust", "--no-sync"),
                       check=True, capture_output=True, timeout=120)
        server = PrivateServer(folder, processes.free_port())
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
