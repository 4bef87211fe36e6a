"""Helpers for the portal's page tests: logging a customer in, making request rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from accounts.models import Account
from upscale.models import UpscaleRequest


def login(client: Client, account: Account) -> Client:
    client.force_login(account.user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def make_request(account: Account, **fields: Any) -> UpscaleRequest:
    """A request row as the worker leaves it: succeeded, with a result still available."""
    now = timezone.now()
    values: dict[str, Any] = {
        "account": account, "source": "data", "scale": 2.0, "model": "realesr-animevideov3",
        "input_format": "png", "input_bytes": 1234, "input_width": 24, "input_height": 16,
        "output_width": 48, "output_height": 32, "status": UpscaleRequest.Status.SUCCEEDED,
        "output_format": "png", "output_bytes": 4321, "credits_charged": 100, "finished_at": now,
        "expires_at": now + timedelta(hours=24),
    }
    values.update(fields)
    row = UpscaleRequest.objects.create(**values)
    if "result_file" not in fields and row.status == UpscaleRequest.Status.SUCCEEDED:
        row.result_file = f"results/{row.request_id}/upscaled.png"
        row.save(update_fields=["result_file"])
    return row
