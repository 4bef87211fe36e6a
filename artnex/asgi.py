"""The web process's entry point (``make run`` serves it with uvicorn): Django, behind the
request-body limit that Django's ASGI handler does not enforce itself."""

import json
import os
import sys
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "artnex.settings")
django_application = get_asgi_application()

from django.conf import settings  # noqa: E402 - after the settings module is chosen

from artnex.body_limit import BodyLimit  # noqa: E402
from artnex.errors import error_body  # noqa: E402
from upscale.ids import new_request_id  # noqa: E402


def _refusal(scope: Any) -> tuple[int, str, bytes]:
    if str(scope.get("path", "")).startswith("/v1/"):
        body = error_body("image_too_large", "The request body is larger than the service accepts.", new_request_id())
        return 400, "application/json", json.dumps(body).encode()
    return 413, "text/plain; charset=utf-8", b"Request body too large.\n"


application = BodyLimit(
    django_application,
    max_bytes=lambda: settings.DATA_UPLOAD_MAX_MEMORY_SIZE or sys.maxsize,
    drain_bytes=lambda: settings.ARTNEX_DRAIN_MAX_BYTES,
    refusal=_refusal,
)
