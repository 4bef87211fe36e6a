"""Webhook secrets, deliveries and their attempts."""

from __future__ import annotations

from django.db import models


class WebhookSecret(models.Model):
    """The account's signing secret. Rotation keeps the previous secret for a grace period,
    during which deliveries carry a signature with each, so receivers can switch without
    rejecting a delivery."""

    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE, related_name="webhook_secret")
    secret = models.CharField(max_length=80)
    previous_secret = models.CharField(max_length=80, blank=True)
    previous_valid_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"webhook secret of {self.account_id}"


class WebhookDelivery(models.Model):
    """One event (a request's final result) for one URL. ``payload`` is frozen when the
    request finishes, so every retry sends the same body."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"  # every attempt used up

    request = models.OneToOneField("upscale.UpscaleRequest", on_delete=models.CASCADE,
                                   related_name="webhook_delivery")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="webhook_deliveries")
    url = models.URLField(max_length=2048)
    base_url = models.CharField(max_length=255, help_text="Public root the payload's links are built on.")
    payload = models.TextField(blank=True, help_text="Frozen when the request finishes.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"webhook for {self.request_id}"


class WebhookAttempt(models.Model):
    """One POST of a delivery, as the customer sees it in the portal."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-started_at", "-number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="one_webhook_attempt_per_number")]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"

    @property
    def succeeded(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300
