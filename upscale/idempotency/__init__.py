"""``Idempotency-Key``: a retried POST returns the original answer and is charged once."""
