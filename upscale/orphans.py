"""Customer images that no live request owns: inputs of requests that ended (or were never
recorded, a web process killed between the upload and the row), and results no row points at.
The hourly purge deletes them, so a crash can delay the deletion of an image but not skip it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from . import previews
from .models import UpscaleRequest

log = logging.getLogger(__name__)
# An input is written a moment before its row; anything younger may still be on its way.
GRACE = timedelta(hours=1)


def _files(folder: str) -> Iterator[str]:
    """Every file under ``folder``, as storage names (the layout is flat or one level deep)."""
    try:
        directories, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}"
    for directory in directories:
        yield from _files(f"{folder}/{directory}")


def _old(name: str, cutoff: datetime) -> bool:
    try:
        return default_storage.get_modified_time(name) < cutoff
    except (FileNotFoundError, OSError):
        return False


def sweep(now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - GRACE
    live = UpscaleRequest.objects.exclude(status=UpscaleRequest.Status.FAILED).filter(purged_at__isnull=True)
    wanted_inputs = set(live.filter(status__in=[UpscaleRequest.Status.QUEUED, UpscaleRequest.Status.PROCESSING])
                        .values_list("input_file", flat=True))
    wanted_results = set(live.exclude(result_file="").values_list("result_file", flat=True))
    # The portal's input previews live exactly as long as their results.
    wanted_previews = {previews.preview_name(request_id)
                       for request_id in live.exclude(result_file="").values_list("request_id", flat=True)}
    removed = 0
    for folder, wanted in (("inputs", wanted_inputs), ("results", wanted_results), ("previews", wanted_previews)):
        for name in _files(folder):
            if name not in wanted and _old(name, cutoff):
                default_storage.delete(name)
                removed += 1
    if removed:
        log.info("purged %d orphaned customer files", removed)
    return removed
