"""The upscale request: the single source of truth for a job's state."""

from __future__ import annotations

from django.db import models

from .ids import new_request_id


class UpscaleRequest(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class FailureCode(models.TextChoices):
        """Why a request failed; each is also the contract's error code the client receives."""

        UPSCALE_TIMEOUT = "upscale_timeout", "No worker finished in time"
        SERVICE_UNAVAILABLE = "service_unavailable", "The task queue was unavailable"
        PROCESSING_FAILED = "processing_failed", "The upscale failed"
        INTERNAL_ERROR = "internal_error", "The answer could not be built"

    TERMINAL = (Status.SUCCEEDED, Status.FAILED)

    request_id = models.CharField(max_length=40, unique=True, default=new_request_id, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="upscale_requests")
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="upscale_requests"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    source = models.CharField(max_length=8, choices=[("url", "URL"), ("data", "Data URI"),
  ("upload", "Upload")])
    source_url = models.URLField(max_length=2048, blank=True)
    scale = models.FloatField()
    model = models.CharField(max_length=64)
    input_format = models.CharField(max_length=8)
    input_bytes = models.PositiveIntegerField()
    input_width = models.PositiveIntegerField()
    input_height = models.PositiveIntegerField()
    output_width = models.PositiveIntegerField()
    output_height = models.PositiveIntegerField()
    output_format = models.CharField(max_length=8, blank=True)
    output_bytes = models.PositiveIntegerField(null=True, blank=True)
    input_file = models.CharField(max_length=255, blank=True, help_text="Storage name; deleted once processed.")
    result_file = models.CharField(max_length=255, blank=True, help_text="Storage name of the result.")
    credits_charged = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True, choices=FailureCode.choices)
    error_message = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    processing_ms = models.PositiveIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    purged_at = models.DateTimeField(null=True, blank=True)
    # Room for the async API (its own issue): a client's retry key and where to post the outcome.
    # NULL rather than "": a request without a key must stay out of a unique (account, key) index.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    webhook_url = models.URLField(max_length=2048, null=True, blank=True)  # noqa: DJ001 - as idempotency_key
    # The HTTP request that waits for this job gives up at wait_deadline; a worker that finds
    # the job later fails and refunds it instead of running it (no one could receive the result).
    # Empty for jobs with no waiter. delivered_at: when the waiter handed the result link out.
    wait_deadline = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "created_at"])]

    def __str__(self) -> str:
        return self.request_id

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL


# The feature packages keep their models beside their code; importing them here registers
# them with the app (and its migrations).
from .idempotency.models import IdempotencyRecord  # noqa: E402
from .webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSecret  # noqa: E402

__all__ = ["IdempotencyRecord", "UpscaleRequest", "WebhookAttempt", "WebhookDelivery", "WebhookSecret"]
