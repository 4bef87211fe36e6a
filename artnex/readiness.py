"""What ``/readyz`` checks: each outside service this process needs, with a bounded wait.

Checks are plain callables that return a short detail or raise. The project-wide ones (the
database, the broker, storage) live here; an app adds its own with :func:`register` from its
``AppConfig.ready`` (upscale adds the model weights), because this module imports no app.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.db import connection

Check = Callable[[], str]
# A probe answers in seconds or the service counts as down: a load balancer must not hang.
BROKER_TIMEOUT_S = 3
_checks: dict[str, Check] = {}


@dataclass(frozen=True)
class Outcome:
    name: str
    ok: bool
    detail: str
    elapsed_ms: int

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "detail": self.detail, "ms": self.elapsed_ms}


def register(name: str, check: Check) -> None:
    _checks[name] = check


def database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def broker() -> str:
    from artnex.celery import app  # the wiring module; imported late so settings load first

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
        return str(conn.transport.driver_name)


def storage() -> str:
    # A lookup of a name that does not exist: a round trip that needs working credentials
    # (S3 answers 403 to bad ones, which django-storages raises) but writes nothing.
    default_storage.exists("readyz-probe")
    return type(getattr(default_storage, "_wrapped", default_storage)).__name__


def run_all() -> list[Outcome]:
    checks: dict[str, Check] = {"database": database, "broker": broker, "storage": storage, **_checks}
    outcomes = []
    for name, check in checks.items():
        started = time.monotonic()
        try:
            detail, ok = check(), True
        except Exception as exc:  # any failure of an outside service means "not ready"
            detail, ok = f"{type(exc).__name__}: {exc}"[:300], False
        outcomes.append(Outcome(name, ok, detail, int((time.monotonic() - started) * 1000)))
    return outcomes
