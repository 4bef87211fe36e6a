"""Where inputs and results live: Django's storage API (local disk, or S3 by configuration).

Local files are served by :mod:`upscale.downloads` behind a signed, expiring link; on S3 the
link is a presigned URL from django-storages.
"""

from __future__ import annotations

import os
import secrets
import time
from contextlib import suppress
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from artnex import signing


def input_name(request_id: str) -> str:
    return f"inputs/{request_id}"


def result_name(request_id: str, extension: str) -> str:
    return f"results/{request_id}/upscaled.{extension}"


def save(name: str, data: bytes) -> str:
    """Write ``data`` under exactly ``name``, atomically replacing whatever is there.

    A signed link names the file, so a retried write must land under the name it was given
    (Django's storages otherwise append ``_AbCd123`` to a taken name). The replacement is
    atomic, never delete-then-write: two runs of one request (a re-delivered message on a
    second worker) can both write the name the winner's link already hands out, and a write
    that fails or is killed half-way must leave the winner's file whole.
    """
    local = _local_path(name)
    if local is None:
        # S3 (file_overwrite=True in settings): one PUT replaces the object whole.
        saved = default_storage.save(name, ContentFile(data))
        if saved != name:
            default_storage.delete(saved)
            raise OSError(f"storage saved {name!r} as {saved!r}: it must overwrite (file_overwrite)")
        return saved
    # Local disk: a complete file beside it first, then a rename over the name (POSIX rename
    # is atomic: a download opens the old file or the new one, never a half-written one).
    partial = f"{name}.partial-{secrets.token_hex(4)}"
    try:
        written = default_storage.save(partial, ContentFile(data))
        os.replace(default_storage.path(written), local)
    except BaseException:
        with suppress(OSError):
            default_storage.delete(partial)
        raise
    return name


def _local_path(name: str) -> str | None:
    """The file's path on local disk, or None for a remote storage (S3)."""
    try:
        return str(default_storage.path(name))
    except NotImplementedError:
        return None


def read(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def delete(name: str) -> None:
    if name:
        default_storage.delete(name)


def exists(name: str) -> bool:
    return bool(name) and default_storage.exists(name)


def signature_valid(name: str, expires: int, signature: str) -> bool:
    return signing.is_valid(name, expires, signature)


def result_url(request_id: str, name: str, expires_at: datetime, base_url: str) -> str:
    """A link that downloads without credentials until ``expires_at``."""
    if settings.ARTNEX_S3_BUCKET:
        remaining = max(1, int(expires_at.timestamp() - time.time()))
        # default_storage is django-storages' S3Storage here (untyped), whose url() takes expire.
        return default_storage.url(name, expire=remaining)  # type: ignore[call-arg]
    expires = int(expires_at.timestamp())
    filename = name.rsplit("/", 1)[-1]
    path = reverse("upscale:result-download", kwargs={"request_id": request_id, "filename": filename})
    return f"{base_url.rstrip('/')}{path}?expires={expires}&signature={signing.sign(name, expires)}"
