"""The terms of the service that pages state (price, scale range, link lifetime), read from the
settings that enforce them, so the words on a page cannot drift from what the API does."""

from __future__ import annotations

from django.conf import settings


def product_terms() -> dict[str, object]:
    return {
        "price": settings.ARTNEX_PRICE_CREDITS,
        "min_scale": f"{settings.ARTNEX_MIN_SCALE:g}",
        "max_scale": f"{settings.ARTNEX_MAX_SCALE:g}",
        "default_scale": f"{settings.ARTNEX_DEFAULT_SCALE:g}",
        "ttl_hours": settings.RESULT_TTL_SECONDS // 3600,
    }
