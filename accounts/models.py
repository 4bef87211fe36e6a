"""Customers, their plans and their API keys."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Plan(models.Model):
    """What a customer pays for: how many upscale requests a day, and the credits included
    with each paid month (sold as a Stripe subscription when the price is above 0)."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    daily_quota = models.PositiveIntegerField(help_text="Upscale requests per UTC day.")
    monthly_price_cents = models.PositiveIntegerField(default=0)
    monthly_credits = models.PositiveIntegerField(default=0, help_text="Credits granted with each paid invoice.")
    is_default = models.BooleanField(default=False, help_text="Given to new sign-ups.")
    max_in_flight = models.PositiveSmallIntegerField(
        default=8, help_text="Upscale requests one account may have open at once; more are answered 429."
    )
    max_queued = models.PositiveIntegerField(
        default=50,
        help_text="Unfinished upscale jobs (queued or processing, async ones included) one account may have at "
        "once; more are answered 429.",
    )
    stripe_product_id = models.CharField(max_length=255, blank=True, editable=False)
    stripe_price_id = models.CharField(max_length=255, blank=True, editable=False,
                                       help_text="Set by `manage.py stripe_sync`.")

    class Meta:
        ordering = ["daily_quota"]

    def __str__(self) -> str:
        return self.name

    @property
    def lookup_key(self) -> str:
        """The Stripe Price lookup key that names this plan's current monthly price."""
        return f"artnex_plan_{self.slug}"

    @classmethod
    def default(cls) -> Plan | None:
        return cls.objects.filter(is_default=True).first() or cls.objects.order_by("daily_quota").first()


class Account(models.Model):
    """A customer account. ``credits`` is a cached balance that only billing.ledger changes,
    always together with a ledger row, under a lock on this row."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="accounts")
    credits = models.BigIntegerField(default=0, editable=False)
    daily_quota_override = models.PositiveIntegerField(
        null=True, blank=True, help_text="Set by an admin: replaces the plan's daily quota."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(credits__gte=0), name="credits_never_negative")]

    def __str__(self) -> str:
        return self.user.email or self.user.get_username()

    @property
    def daily_quota(self) -> int:
        if self.daily_quota_override is not None:
            return self.daily_quota_override
        return self.plan.daily_quota


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def active(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """An API key, stored as its public prefix and a keyed hash of the whole key: the
    plain key is shown once at creation and never stored."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part, shown to identify the key.")
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
