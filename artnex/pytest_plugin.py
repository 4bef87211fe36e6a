"""Test environment defaults, loaded by pytest before Django reads its settings.

Kept in the package (``-p artnex.pytest_plugin`` in pyproject) because settings are read from
the environment when Django starts, which is before any conftest.py could set them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from artnex import local_setup as _local_setup

_REPO = Path(__file__).resolve().parent.parent
_SHARED_MODELS = _REPO.parent / "shared" / "models"

os.environ.setdefault("ARTNEX_ENV", "test")
os.environ.setdefault("ARTNEX_VAR_DIR", tempfile.mkdtemp(prefix="artnex-test-"))
if _SHARED_MODELS.is_dir():
    os.environ.setdefault("ARTNEX_MODEL_DIR", str(_SHARED_MODELS))
# No network here: a missing model must fail loudly rather than try to download.
os.environ.setdefault("ARTNEX_ALLOW_MODEL_DOWNLOAD", "0")
# The smallest real network keeps API tests fast; engine tests pick their models explicitly.
os.environ.setdefault("ARTNEX_DEFAULT_MODEL", "realesr-animevideov3")
# Unit tier: the task runs in-process once the request row commits. The integration tier
# (ARTNEX_INTEGRATION=1) runs a real worker process against PostgreSQL and Redis instead.
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "0" if os.environ.get("ARTNEX_INTEGRATION") == "1" else "1")
os.environ.setdefault("ARTNEX_WAIT_SECONDS", "120")
# What `make install` does for a checkout: the folders under the (temporary) var directory.
_local_setup.prepare(Path(os.environ["ARTNEX_VAR_DIR"]))
