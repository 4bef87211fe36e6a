"""Optional per-stage timing of one upscale (decode, upload, network, download, encode...).

Off unless a caller opens `recording()` (bench/gpu.py does): production pays one context-variable
lookup per stage. While recording, CUDA work is synchronised at each stage's end so that the
time lands in the stage that queued it.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

import torch

_current: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar("artnex_stages", default=None)


@contextlib.contextmanager
def recording() -> Iterator[dict[str, float]]:
    """Collect seconds per stage for the code run inside; the dict fills as stages finish."""
    stages: dict[str, float] = {}
    token = _current.set(stages)
    try:
        yield stages
    finally:
        _current.reset(token)


@contextlib.contextmanager
def stage(name: str, cuda: bool = False) -> Iterator[None]:
    stages = _current.get()
    if stages is None:
        yield
        return
    t = time.perf_counter()
    try:
        yield
    finally:
        if cuda and torch.cuda.is_available():
            torch.cuda.synchronize()
        stages[name] = stages.get(name, 0.0) + time.perf_counter() - t
