"""``celery worker --gpu N``: pin a worker to one GPU of its host.

One worker per GPU, each with concurrency 1, is how a multi-GPU host serves: the option (or
``ARTNEX_GPU``) sets ``CUDA_VISIBLE_DEVICES`` in the worker's main process before the pool
starts, so every pool process, and PyTorch in it, sees that one device as ``cuda:0``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, bootsteps
from click import Option

log = logging.getLogger(__name__)


def pin(gpu: str | None) -> str | None:
    """Restrict this process and its children to ``gpu``; None leaves the devices as they are."""
    gpu = gpu or os.environ.get("ARTNEX_GPU") or None
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    return gpu


class PinGpu(bootsteps.StartStopStep):
    """Pins when the worker is built, before its pool processes exist; says so once logging runs."""

    def __init__(self, parent: Any, gpu: str | None = None, **options: Any) -> None:
        self.pinned = pin(gpu)
        super().__init__(parent, **options)

    def start(self, parent: Any) -> None:
        if self.pinned is not None:
            log.info("worker pinned to GPU %s (CUDA_VISIBLE_DEVICES=%s)", self.pinned, self.pinned)


def add_gpu_option(app: Celery) -> None:
    app.user_options["worker"].add(
        Option(["--gpu"], default=None, help="Pin this worker to one GPU index (CUDA_VISIBLE_DEVICES); "
                                             "default: ARTNEX_GPU, else every device stays visible.")
    )
    app.steps["worker"].add(PinGpu)
