"""The product's processes, started with the Procfile's own command lines (which the compose
file runs too), each with its own environment and log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from honcho.environ import parse_procfile

REPO = Path(__file__).resolve().parents[2]
# Guards against a hung start, not measurements: a healthy process is far quicker.
START_BOUND_S = 180.0


def procfile() -> dict[str, str]:
    return dict(parse_procfile((REPO / "Procfile").read_text()).processes)


def command(name: str) -> list[str]:
    """One process type of the Procfile, run by a shell as honcho runs it."""
    return ["sh", "-c", procfile()[name]]


def path_with_venv(env: dict[str, str]) -> str:
    """The Procfile names gunicorn and celery: the ones of this virtual environment."""
    return f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def wait_for(self, needle: str, bound_s: float = START_BOUND_S, since: int = 0) -> None:
        """Until the log shows ``needle`` after its first ``since`` characters."""
        deadline = time.monotonic() + bound_s
        while needle not in self.text()[since:]:
            if self.popen.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name} never logged {needle!r}:\n{self.tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=20)
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=20)


def start(name: str, argv: list[str], env: dict[str, str], log: Path) -> Process:
    with log.open("wb") as handle:
        popen = subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=handle,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    return Process(name, popen, log)
