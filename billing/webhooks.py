"""Receiving Stripe webhooks: verify, record once, dispatch.

The signature is checked by the stripe library itself against STRIPE_WEBHOOK_SECRET. The
event id goes into a unique column in the same transaction as the handler's effects, so a
redelivery (or two deliveries racing) runs the handler once; a handler that fails rolls the
record back too, and Stripe's retry gets a clean second chance.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction

from . import events
from .models import StripeEvent
from .stripe_objects import when

log = logging.getLogger(__name__)


class BadWebhook(Exception):
    """Not a verifiable Stripe event: answered 400 and nothing changes."""


@dataclass(frozen=True)
class Received:
    event_id: str
    duplicate: bool
    outcome: str


def receive(payload: bytes, signature: str) -> Received:
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise BadWebhook("STRIPE_WEBHOOK_SECRET is not set: webhooks cannot be verified")
    try:
        stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
        # The verified bytes, read as plain JSON: handlers work on dicts, not library objects.
        event = json.loads(payload)
        event_id, event_type, obj = event["id"], event["type"], event["data"]["object"]
        created = when(int(event["created"]))
    except stripe.SignatureVerificationError as exc:
        raise BadWebhook("bad signature") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise BadWebhook("not a Stripe event") from exc
    assert created is not None
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = StripeEvent.objects.create(event_id=event_id, type=event_type, created=created,
                                                    payload=event)
        except IntegrityError:
            return Received(event_id, duplicate=True, outcome="duplicate: already processed")
        outcome = events.handle(event_type, obj, created)
        record.outcome = outcome[:255]
        record.save(update_fields=["outcome"])
    log.info("stripe event %s %s: %s", event_id, event_type, outcome)
    return Received(event_id, duplicate=False, outcome=outcome)
