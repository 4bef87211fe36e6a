"""The account's webhook secret: created on first need, rotated by the customer."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string

from accounts.models import Account

from .models import WebhookSecret

PREFIX = "whsec_"
# Long enough for receivers to deploy the new secret; short enough that a leaked one dies soon.
ROTATION_GRACE = timedelta(hours=24)


def _new_secret() -> str:
    return PREFIX + get_random_string(40)


def secret_for(account: Account) -> WebhookSecret:
    record, _ = WebhookSecret.objects.get_or_create(account=account, defaults={"secret": _new_secret()})
    return record


def signing_secrets(account: Account) -> list[str]:
    """The current secret, then the previous one while it is in its grace period."""
    record = secret_for(account)
    secrets = [record.secret]
    if record.previous_secret and record.previous_valid_until and record.previous_valid_until > timezone.now():
        secrets.append(record.previous_secret)
    return secrets


def rotate(account: Account) -> WebhookSecret:
    with transaction.atomic():
        record = secret_for(account)
        record = WebhookSecret.objects.select_for_update().get(pk=record.pk)
        now = timezone.now()
        record.previous_secret, record.previous_valid_until = record.secret, now + ROTATION_GRACE
        record.secret, record.rotated_at = _new_secret(), now
        record.save()
    return record
