"""create_customer EMAIL [--credits N] [--plan SLUG] [--daily-quota N]: prints a new API key last."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from accounts import keys
from accounts.models import Account, Plan
from billing import ledger


class Command(BaseCommand):
    help = "Create (or update) a customer and print a new API key as the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--credits", type=int, default=None,
                            help="Set the balance to N credits (a ledger grant of the difference).")
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
        with transaction.atomic():
            account, created = self._account(email, options["plan"])
            if options["daily_quota"] is not None:
                account.daily_quota_override = options["daily_quota"]
                account.save(update_fields=["daily_quota_override"])
            if options["credits"] is not None and options["credits"] != account.credits:
                ledger.grant(account.pk, options["credits"] - account.credits, reason="create_customer")
                account.refresh_from_db()
            _, plain = keys.create_key(account, options["key_name"])
        self.stdout.write(
            f"{'Created' if created else 'Updated'} customer {email}: plan {account.plan.slug}, "
            f"{account.credits} credits, daily quota {account.daily_quota}."
        )
        self.stdout.write("API key (shown once, store it now):")
        self.stdout.write(plain)

    def _account(self, email: str, plan_slug: str | None) -> tuple[Account, bool]:
        plan = None
        if plan_slug is not None:
            plan = Plan.objects.filter(slug=plan_slug).first()
            if plan is None:
                slugs = ", ".join(Plan.objects.values_list("slug", flat=True))
                raise CommandError(f"unknown plan {plan_slug!r}; plans: {slugs}")
        user_model = get_user_model()
        user = user_model.objects.filter(email__iexact=email).first()
        if user is None:
            user = user_model.objects.create_user(username=email, email=email)
            user.set_unusable_password()
            user.save()
        account = Account.objects.filter(user=user).first()
        if account is None:
            plan = plan or Plan.default()
            if plan is None:
                raise CommandError("no plans exist; create one in the admin first")
            return Account.objects.create(user=user, plan=plan), True
        if plan is not None and account.plan_id != plan.pk:
            account.plan = plan
            account.save(update_fields=["plan"])
        return account, False
