"""What an operator types against a running stack: ``manage.py`` commands with the stack's own
environment, as separate processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping

from .processes import REPO, ProcessFailed


def manage(env: Mapping[str, str], *args: str) -> str:
    """Run ``manage.py ARGS``; its standard output, or :class:`ProcessFailed` with both streams."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=dict(env), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise ProcessFailed(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def create_customer(env: Mapping[str, str], email: str, credits: int, plan: str = "free") -> str:
    """The operator's command; its new API key is the last line it prints."""
    # --skip-checks: the stack's migrate has just run the system checks on this same code, and
    # the checks import the URLconf and with it the whole engine (PyTorch), seconds per call.
    output = manage(env, "create_customer", email, "--credits", str(credits), "--plan", plan, "--skip-checks")
    return output.strip().splitlines()[-1]
