"""A Redis server of a test's or a benchmark's own: empty at start, so nothing an earlier run
left can reach its workers, and free to stop and restart without touching a shared Redis."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import redis

from . import processes

# What may answer a probe of a Redis server that is still starting (refused, reset, loading).
TRANSIENT = (OSError, redis.RedisError)


def binary() -> str:
    found = shutil.which("redis-server") or next(
        (path for path in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.access(path, os.X_OK)), None)
    if found is None:
        raise processes.ProcessFailed("redis-server is not installed (apt-get install redis-server)")
    return found


def argv(bind: str, port: int, folder: Path | None = None, *extra: str) -> list[str]:
    """The command line of a server on ``bind:port``. With ``folder``, it keeps its data there
    in an append-only file, as a production broker does: a restart loses no queued or
    unacknowledged message. Without, it keeps nothing on disk."""
    persistence = (["--dir", str(folder), "--appendonly", "yes", "--save", ""] if folder is not None
                   else ["--save", "", "--appendonly", "no"])
    return [binary(), "--bind", bind, "--port", str(port), *persistence, *extra]


def answers(at: tuple[str, int]) -> bool:
    return bool(redis.Redis(host=at[0], port=at[1], socket_connect_timeout=1, socket_timeout=2).ping())


def wait_until_answering(at: tuple[str, int], process: processes.Process) -> None:
    processes.wait_until(lambda: answers(at), f"the Redis server never answered on {at}", process,
                         transient=TRANSIENT)
