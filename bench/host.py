"""The machine a benchmark ran on, for the figures it prints."""

from __future__ import annotations


def cpu_model() -> str:
    """/proc/cpuinfo's model name ("?" where there is none, as on some ARM kernels)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        return "?"
