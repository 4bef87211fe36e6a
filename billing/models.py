"""Billing rows: the credit ledger, what is sold (credit packs), and what Stripe told us.

Every Stripe id that can pay out credits sits in a unique column (an event, a Checkout
Session, an invoice through its ledger reference), so a redelivered webhook cannot pay twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge"  # credits taken for an upscale request
        REFUND = "refund", "Refund"  # a charge given back: the request failed
        GRANT = "grant", "Grant"  # given by an admin or at sign-up
        PURCHASE = "purchase", "Purchase"  # a credit pack bought through Stripe
        PLAN_CREDITS = "plan_credits", "Plan credits"  # included in a paid month of a plan
        CLAWBACK = "clawback", "Refunded payment"  # credits taken back: Stripe refunded the money

    class Reference(models.TextChoices):
        NONE = "", "None"
        UPSCALE_REQUEST = "upscale_request", "Upscale request"
        ADMIN_GRANT = "admin_grant", "Admin grant"
        ACCOUNT_OPENING = "account_opening", "Account opening (starting credits)"
        STRIPE_CHECKOUT = "stripe_checkout", "Stripe Checkout Session"
        STRIPE_INVOICE = "stripe_invoice", "Stripe invoice (monthly plan credits)"
        STRIPE_REFUND = "stripe_refund", "Stripe charge refund"

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.BigIntegerField(help_text="Signed change of the balance, in credits.")
    balance_after = models.BigIntegerField()
    reason = models.CharField(max_length=255, blank=True)
    # What the row is for. Unique per (kind, reference) when set: an upscale request is charged
    # once and refunded once, a Checkout Session or an invoice pays out once, whatever retries.
    reference_kind = models.CharField(max_length=24, choices=Reference.choices, blank=True)
    reference_id = models.CharField(max_length=255, blank=True, db_index=True)
    # Derived by the database from the reference, for the code and tests that look up a
    # request's rows by its id (``filter(request_id=...)``); never written.
    request_id = models.GeneratedField(
        expression=models.Case(
            models.When(reference_kind="upscale_request", then=models.F("reference_id")),
            default=models.Value(""),
        ),
        output_field=models.CharField(max_length=255),
        db_persist=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "reference_kind", "reference_id"],
                condition=~models.Q(reference_id=""),
                name="one_ledger_row_per_kind_and_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d} ({self.account})"


class CreditPack(models.Model):
    """A one-time purchase of credits, sold through Stripe Checkout."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    credits = models.PositiveIntegerField()
    price_cents = models.PositiveIntegerField(help_text="Price in the smallest unit of ARTNEX_CURRENCY.")
    active = models.BooleanField(default=True, help_text="Offered on the buy page.")
    stripe_product_id = models.CharField(max_length=255, blank=True, editable=False)
    stripe_price_id = models.CharField(max_length=255, blank=True, editable=False,
                                       help_text="Set by `manage.py stripe_sync`.")

    class Meta:
        ordering = ["credits"]

    def __str__(self) -> str:
        return self.name

    @property
    def lookup_key(self) -> str:
        return f"artnex_pack_{self.slug}"


class StripeCustomer(models.Model):
    """The Stripe Customer that pays for an account (one each)."""

    account = models.OneToOneField("accounts.Account", on_delete=models.PROTECT, related_name="stripe_customer")
    customer_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.customer_id} ({self.account})"


class Checkout(models.Model):
    """A Checkout Session this installation created. A completed session pays out only if it
    is one of these: credits never come from metadata a third party could have written."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETED = "completed", "Completed"  # paid; a pack's credits are in the ledger
        EXPIRED = "expired", "Expired"  # abandoned on Stripe's page: nothing was paid
        FAILED = "failed", "Payment failed"  # a delayed payment (bank debit) was declined

    session_id = models.CharField(max_length=255, unique=True)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="checkouts")
    pack = models.ForeignKey(CreditPack, null=True, blank=True, on_delete=models.PROTECT)
    plan = models.ForeignKey("accounts.Plan", null=True, blank=True, on_delete=models.PROTECT)
    credits = models.PositiveIntegerField(default=0, help_text="A pack's credits at the price the customer saw.")
    amount_cents = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(pack__isnull=False, plan__isnull=True)
                           | models.Q(pack__isnull=True, plan__isnull=False)),
                name="checkout_is_for_a_pack_or_a_plan",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} ({self.pack or self.plan})"


class Payment(models.Model):
    """Money received that paid out credits: a pack's Checkout Session or a plan's invoice.
    Kept so that a refund of the charge can find the credits to take back."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="payments")
    stripe_id = models.CharField(max_length=255, unique=True, help_text="Checkout Session or invoice id.")
    payment_intent = models.CharField(max_length=255, blank=True, db_index=True)
    charge = models.CharField(max_length=255, blank=True, db_index=True)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    credits = models.PositiveIntegerField()
    credits_taken_back = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.stripe_id}: {self.credits} credits"


class Subscription(models.Model):
    """A Stripe subscription to a plan, as the latest event we applied describes it."""

    subscription_id = models.CharField(max_length=255, unique=True)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey("accounts.Plan", on_delete=models.PROTECT)
    status = models.CharField(max_length=32)
    current_period_end = models.DateTimeField(null=True, blank=True)
    # Stripe delivers events in any order: an event older than this one never overwrites it.
    last_event_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.subscription_id} ({self.plan}, {self.status})"


class StripeEvent(models.Model):
    """Every webhook event processed, once: the unique id turns a redelivery into a no-op."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    created = models.DateTimeField(help_text="When Stripe created the event.")
    received_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=255, blank=True)
    payload = models.JSONField()

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class CreditShortfall(models.Model):
    """A refund took back fewer credits than it paid for: the customer had already spent
    them. Flagged for an operator instead of overdrawing the account or ignoring it."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="credit_shortfalls")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT)
    credits = models.PositiveIntegerField(help_text="Credits refunded in money but not recovered.")
    reason = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.account}: {self.credits} credits short"
