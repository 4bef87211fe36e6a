"""Delete upscaled results past their 24-hour life (the beat schedule runs the same task)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from upscale.tasks import fail_stale, purge_expired


class Command(BaseCommand):
    help = "Delete expired results and refund requests that no worker finished."

    def handle(self, *args: Any, **options: Any) -> None:
        purged = purge_expired()
        failed = fail_stale()
        self.stdout.write(f"Purged {purged} expired result(s); failed and refunded {failed} stale request(s).")
