"""``{{ cents|money }}``: an amount in the smallest currency unit, as customers read it."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.conf import settings

register = template.Library()


@register.filter
def money(cents: int, currency: str = "") -> str:
    # Integer cents to Decimal, never float: 1999 is exactly 19.99.
    return f"{Decimal(cents) / 100:,.2f} {(currency or settings.ARTNEX_CURRENCY).upper()}"
