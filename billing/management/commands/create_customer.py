"""create_customer EMAIL [--credits N] [--plan SLUG] [--daily-quota N]: prints a new API key last."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from accounts import keys
from accounts.models import Account, Plan
from billing import ledger
from billing.onboarding import NoPlan, open_account


class Command(BaseCommand):
    help = "Create (or update) a customer and print a new API key as the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--credits", type=int, default=None,
                            help="Set the balance to N credits (a ledger grant of the difference); "
                                 "a new customer gets ARTNEX_SIGNUP_CREDITS without it.")
        parser.add_argument("--plan", default=None, help="Plan slug (free, pro, business).")
        parser.add_argument("--daily-quota", type=int, default=None, help="Override the plan's daily quota.")
        parser.add_argument("--key-name", default="cli", help="Name of the new API key.")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"{email!r} is not a valid email address") from exc
        if options["credits"] is not None and options["credits"] < 0:
            raise CommandError("--credits must be 0 or more")
        if options["daily_quota"] is not None and options["daily_quota"] < 0:
            raise CommandError("--daily-quota must be 0 or more")
        plan = self._plan(options["plan"])
        with transaction.atomic():
            account = Account.objects.filter(user__email__iexact=email).select_related("plan").first()
            created = account is None
            if account is None:
                try:
                    account = open_account(email, credits=options["credits"], plan=plan,
                                           daily_quota=options["daily_quota"])
                except NoPlan as exc:
                    raise CommandError(str(exc)) from exc
            else:
                self._update(account, plan, options["credits"], options["daily_quota"])
            _, plain = keys.create_key(account, options["key_name"])
        self.stdout.write(
            f"{'Created' if created else 'Updated'} customer {email}: plan {account.plan.slug}, "
            f"{account.credits} credits, daily quota {account.daily_quota}."
        )
        self.stdout.write("API key (shown once, store it now):")
        self.stdout.write(plain)

    def _plan(self, slug: str | None) -> Plan | None:
        if slug is None:
            return None
        plan = Plan.objects.filter(slug=slug).first()
        if plan is None:
            slugs = ", ".join(Plan.objects.values_list("slug", flat=True))
            raise CommandError(f"unknown plan {slug!r}; plans: {slugs}")
        return plan

    def _update(self, account: Account, plan: Plan | None, credits: int | None, daily_quota: int | None) -> None:
        if plan is not None and account.plan_id != plan.pk:
            account.plan = plan
            account.save(update_fields=["plan"])
        if daily_quota is not None:
            account.daily_quota_override = daily_quota
            account.save(update_fields=["daily_quota_override"])
        if credits is not None and credits != account.credits:
            ledger.grant(account.pk, credits - account.credits, reason="create_customer")
            account.refresh_from_db()
