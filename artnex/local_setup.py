"""First run on one machine: the folders under var/ and a development secret key.

Settings create nothing when they are imported (a worker, a test or `manage.py check` must not
write to disk as a side effect); `make install` and `make run` call this instead:

    python -m artnex.local_setup

It does not load Django settings, so it runs before they can be read; settings take its paths.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_VAR_DIR = BASE_DIR / "var"
SECRET_KEY_FILE = "dev-secret-key"  # noqa: S105 - a file name, not a key
BROKER_FOLDERS = ("queue", "control")  # kombu's filesystem transport: one in/out queue, one control


def broker_folder(var_dir: Path, name: str) -> Path:
    return var_dir / "broker" / name


def read_secret_key(var_dir: Path) -> str:
    """The development key written by :func:`prepare`, or "" when there is none yet."""
    path = var_dir / SECRET_KEY_FILE
    return path.read_text().strip() if path.is_file() else ""


def read_dotenv() -> None:
    """The checkout's .env fills in what the environment lacks, as settings read it."""
    if (BASE_DIR / ".env").is_file():
        environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def var_dir_from_environment() -> Path:
    read_dotenv()
    return Path(os.environ.get("ARTNEX_VAR_DIR") or DEFAULT_VAR_DIR)


def prepare(var_dir: Path) -> list[Path]:
    """Create what a local run writes into; returns what it created (nothing the second time)."""
    wanted = [var_dir, var_dir / "static", *(broker_folder(var_dir, name) for name in BROKER_FOLDERS)]
    created = [path for path in wanted if not path.is_dir()]
    for path in created:
        path.mkdir(parents=True, exist_ok=True)
    key = var_dir / SECRET_KEY_FILE
    if not key.exists():
        # Random per checkout, and kept, so that signed links and sessions survive a restart.
        key.touch(mode=0o600)
        key.write_text(secrets.token_urlsafe(50))
        created.append(key)
    return created


def main() -> int:
    var_dir = var_dir_from_environment()
    for path in prepare(var_dir):
        print(f"created {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
