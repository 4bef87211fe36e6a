"""What "the same body" means: the parsed fields, not the bytes, so a multipart retry with a
new boundary or JSON with other whitespace is the same request; files count by content."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict


def _canonical(value: Any) -> Any:
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file_sha256": digest.hexdigest()}
    if isinstance(value, QueryDict):
        return {key: [_canonical(item) for item in value.getlist(key)] for key in sorted(value)}
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def fingerprint(data: Any, *, respond_async: bool) -> str:
    canonical = json.dumps({"body": _canonical(data), "async": respond_async}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
