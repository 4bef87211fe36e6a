"""The credit ledger: append-only rows, one per balance change."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge"  # credits taken for an upscale request
        REFUND = "refund", "Refund"  # a charge given back: the request failed
        GRANT = "grant", "Grant"  # given by an admin or at sign-up
        PURCHASE = "purchase", "Purchase"  # bought through Stripe

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.BigIntegerField(help_text="Signed change of the balance, in credits.")
    balance_after = models.BigIntegerField()
    reason = models.CharField(max_length=255, blank=True)
    # The upscale request a charge or refund belongs to: unique per kind, so a request can be
    # charged once and refunded once, whatever retries happen.
    request_id = models.CharField(max_length=40, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(
                fields=["request_id", "kind"],
                condition=~models.Q(request_id=""),
                name="one_ledger_row_per_request_and_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d} ({self.account})"
