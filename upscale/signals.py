"""Files follow their rows: deleting a request (admin, account deletion) deletes its files."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from . import previews, storage
from .models import UpscaleRequest


@receiver(post_delete, sender=UpscaleRequest)
def delete_files(sender: type[UpscaleRequest], instance: UpscaleRequest, **kwargs: Any) -> None:
    names = [name for name in (instance.input_file, instance.result_file) if name]
    if instance.result_file:
        names.append(previews.preview_name(instance.request_id))

    def delete_all() -> None:
        for name in names:
            storage.delete(name)

    # After commit: a rolled-back delete must not lose the files.
    transaction.on_commit(delete_all)
