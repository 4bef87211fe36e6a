"""The product's processes, started with the Procfile's own command lines (which the compose
file runs too), each with its own environment and log; and what a test or a benchmark needs
to watch and kill them the way an operator's machine would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from honcho.environ import parse_procfile

REPO = Path(__file__).resolve().parents[2]
# Guards against a hung start, not measurements: a healthy process is far quicker.
START_BOUND_S = 180.0


class ProcessFailed(RuntimeError):
    """A process exited, or never got to the state it was waited for (the message has its log)."""


def procfile() -> dict[str, str]:
    return dict(parse_procfile((REPO / "Procfile").read_text()).processes)


def command(name: str) -> list[str]:
    """One process type of the Procfile, run by a shell as honcho runs it."""
    return ["sh", "-c", procfile()[name]]


def path_with_venv(env: dict[str, str]) -> str:
    """The Procfile names gunicorn and celery: the ones of this virtual environment."""
    return f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stat_fields(pid: str) -> list[str] | None:
    """/proc/<pid>/stat after the command name: state, ppid, pgrp, session, ... (None once gone)."""
    try:
        stat = Path("/proc", pid, "stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def _live_where(field: int, value: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        fields = _stat_fields(entry.name) if entry.name.isdigit() else None
        if fields and fields[0] != "Z" and int(fields[field]) == value:
            found.append(int(entry.name))
    return found


def session_members(session_id: int) -> list[int]:
    """Live processes of a session: a stack and everything it started, however deep."""
    return _live_where(3, session_id)


def children(pid: int) -> list[int]:
    """Live child processes of ``pid``: a Celery worker's pool processes, which leave its
    process group (artnex/celery.py), so that killing the group would miss them."""
    return _live_where(1, pid)


def wait_until(answers: Callable[[], bool], what: str, process: Process, bound_s: float = START_BOUND_S,
               transient: tuple[type[Exception], ...] = (OSError,)) -> None:
    """Poll ``answers`` until it is true; a service still starting may refuse or reset
    (``transient``: the exceptions that mean "not yet"). Fails at once if ``process`` exits."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        with suppress(*transient):
            if answers():
                return
        if process.popen.poll() is not None:
            break
        time.sleep(0.2)
    raise ProcessFailed(f"{what}:\n{process.tail()}")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def wait_for(self, needle: str, bound_s: float = START_BOUND_S, since: int = 0) -> None:
        """Until the log shows ``needle`` after its first ``since`` characters."""
        deadline = time.monotonic() + bound_s
        while needle not in self.text()[since:]:
            if self.popen.poll() is not None:
                raise ProcessFailed(f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise ProcessFailed(f"{self.name} never logged {needle!r}:\n{self.tail()}")
            time.sleep(0.05)

    def kill_outright(self) -> list[int]:
        """SIGKILL to the process and its children at once, the main process first so that it
        cannot react to its children's death: what a lost host or the OOM killer's sweep does.
        Returns the pids killed."""
        pids = [self.pid, *children(self.pid)]
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=20)
        return pids

    def stop(self) -> None:
        # Read before the stop: a pool process that outlives its worker is re-parented, and in
        # a process group of its own.
        pool = children(self.pid)
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=20)
        for pid in pool:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=20)


def start(name: str, argv: list[str], env: dict[str, str], log: Path) -> Process:
    with log.open("wb") as handle:
        popen = subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=handle,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    return Process(name, popen, log)
