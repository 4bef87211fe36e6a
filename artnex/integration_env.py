"""Run a command (the integration test tier) against PostgreSQL and Redis when they answer.

    python -m artnex.integration_env -- pytest -m integration

Locally, a missing service skips the tier with a message; with ARTNEX_REQUIRE_INTEGRATION=1
(CI) it is a failure. A service only some of the tier's tests use (RabbitMQ) is not required
here: those tests look for it themselves (tests.integration.optional_service) and decide the same way.
"""

from __future__ import annotations

import os
import socket
import sys
from urllib.parse import urlsplit

DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/artnex",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14",
    "CACHE_URL": "rediscache://127.0.0.1:6379/15",
}
# Each may be pointed elsewhere with ARTNEX_TEST_<name>, like the services above.
OPTIONAL = {
    "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672//",  # tests/stack/test_rabbitmq.py
}


def required() -> bool:
    """CI: a service that does not answer fails the run instead of skipping tests."""
    return os.environ.get("ARTNEX_REQUIRE_INTEGRATION") == "1"


def service_url(name: str) -> str:
    return os.environ.get(f"ARTNEX_TEST_{name}", {**DEFAULTS, **OPTIONAL}[name])


def answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=2):
            return True
    except OSError:
        return False


def main(argv: list[str]) -> int:
    command = argv[argv.index("--") + 1:] if "--" in argv else argv
    env = {key: service_url(key) for key in DEFAULTS}
    missing = [key for key, url in env.items() if not answers(url)]
    if missing:
        message = "integration tier: no answer from " + ", ".join(f"{k}={env[k]}" for k in missing)
        if required():
            print(f"{message} (required: failing)", file=sys.stderr)
            return 1
        print(f"{message}; skipping the integration tier", file=sys.stderr)
        return 0
    os.environ.update(env, ARTNEX_INTEGRATION="1", CELERY_TASK_ALWAYS_EAGER="0")
    os.execvp(command[0], command)  # noqa: S606 - our own command line, by design
    return 127  # unreachable: execvp replaces this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
