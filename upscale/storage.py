"""Where inputs and results live: Django's storage API (local disk, or S3 by configuration).

Local files are served by :mod:`upscale.downloads` behind a signed, expiring link; on S3 the
link is a presigned URL from django-storages.
"""

from __future__ import annotations

import time
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
    """Write ``data`` under exactly ``name``, replacing what a failed earlier try left there.

    Django's storages pick another name (``_AbCd123`` appended) when one is taken; a signed
    link names the file, so a retried write must land under the name it was given.
    """
    if default_storage.exists(name):
        default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(data))
    if saved != name:  # a concurrent writer took the name between the two calls
        default_storage.delete(saved)
        raise OSError(f"storage saved {name!r} as {saved!r}")
    return saved


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
