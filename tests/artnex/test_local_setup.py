"""Settings write nothing when imported; `python -m artnex.local_setup` makes var/ and the key."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from artnex import local_setup

REPO = Path(__file__).resolve().parents[2]


def load_settings(var_dir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter, as a developer's process would."""
    env = {key: value for key, value in os.environ.items() if key not in {"DJANGO_SECRET_KEY", "ARTNEX_ENV"}}
    env.update(ARTNEX_VAR_DIR=str(var_dir), ARTNEX_ENV="development", **extra)
    code = "import artnex.settings as s; print(s.SECRET_KEY)"
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          check=False)


def test_importing_settings_creates_nothing(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    done = load_settings(var_dir, DJANGO_SECRET_KEY="k" * 50)
    assert done.returncode == 0, done.stderr
    assert not var_dir.exists()


def test_a_development_checkout_without_a_key_says_what_to_run(tmp_path: Path) -> None:
    done = load_settings(tmp_path / "var")
    assert done.returncode != 0
    assert "run `make install`" in done.stderr and "ImproperlyConfigured" in done.stderr
    assert not (tmp_path / "var").exists()


def test_local_setup_makes_folders_and_a_private_key_once(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    created = local_setup.prepare(var_dir)
    key_file = var_dir / local_setup.SECRET_KEY_FILE
    assert {var_dir, var_dir / "static", var_dir / "broker" / "queue", var_dir / "broker" / "control",
            key_file} == set(created)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = local_setup.read_secret_key(var_dir)
    assert len(key) >= 50
    assert local_setup.prepare(var_dir) == []  # idempotent: the key is kept
    assert local_setup.read_secret_key(var_dir) == key
    done = load_settings(var_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == key


def test_the_command_reads_the_var_dir_from_the_environment(tmp_path: Path) -> None:
    env = {**os.environ, "ARTNEX_VAR_DIR": str(tmp_path / "elsewhere")}
    done = subprocess.run([sys.executable, "-m", "artnex.local_setup"], cwd=REPO, env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "elsewhere" / local_setup.SECRET_KEY_FILE).is_file()
