"""stripe_sync: create or update the Stripe Products and Prices for paid plans and credit packs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing import stripe_api, sync


class Command(BaseCommand):
    help = "Create or update Stripe Products and Prices for paid plans and active credit packs (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            lines = sync.sync_all()
        except stripe_api.NotConfigured as exc:
            raise CommandError(f"{exc}: set it to the account's secret key (sk_...)") from exc
        except stripe_api.StripeError as exc:
            raise CommandError(f"Stripe refused: {exc.user_message or exc}") from exc
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(f"{len(lines)} item(s) in sync with Stripe.")
