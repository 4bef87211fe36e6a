"""Run the whole product on one machine: the web server, a Celery worker and the beat
scheduler, as separate processes like in production. ``make run`` calls this.

    python -m artnex.stack [--port 8000]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from types import FrameType


def commands(port: int, host: str) -> dict[str, list[str]]:
    python = sys.executable
    wait = float(os.environ.get("ARTNEX_WAIT_SECONDS", "300"))
    return {
        # One web process with threads: the embedded defaults keep rate-limit counters in
        # process memory, and SQLite serialises writers anyway.
        "web": [python, "-m", "gunicorn", "artnex.wsgi:application", "--bind", f"{host}:{port}",
                "--workers", "1", "--threads", os.environ.get("ARTNEX_WEB_THREADS", "16"),
                "--timeout", str(int(wait) + 60), "--access-logfile", "-"],
        # One worker process: PyTorch already uses every core for a single image.
        "worker": [python, "-m", "celery", "-A", "artnex", "worker", "--queues", "upscale",
                   "--concurrency", os.environ.get("ARTNEX_WORKER_CONCURRENCY", "1"),
                   "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
        # Beat with its own housekeeping worker (purge, stale sweeps): never behind an upscale.
        "beat": [python, "-m", "celery", "-A", "artnex", "worker", "--beat", "--queues", "housekeeping",
                 "--concurrency", "1", "--hostname", "housekeeping@%h", "--loglevel", "INFO",
                 "--without-gossip", "--without-mingle"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "artnex.settings")

    plan = commands(args.port, args.host)
    processes = {name: subprocess.Popen(argv) for name, argv in plan.items()}  # noqa: S603 - fixed argv
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"Artnex is serving on http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
    exit_code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} exited with {process.returncode}; stopping", file=sys.stderr, flush=True)
                stopping, exit_code = True, 1
        time.sleep(0.5)
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 20
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
