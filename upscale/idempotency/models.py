"""Idempotency keys and the answers they replay."""

from __future__ import annotations

from django.db import models


class IdempotencyRecord(models.Model):
    """A key in use. Created (and committed) before any work, so a concurrent duplicate
    finds it and waits; completed with the answer to replay, or deleted when the work ended
    in an error that charged nothing, so that a retry does the work afresh."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the canonical request body.")
    request_id = models.CharField(max_length=40, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="one_idempotency_record_per_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.account_id})"

    @property
    def completed(self) -> bool:
        return self.response_status is not None
