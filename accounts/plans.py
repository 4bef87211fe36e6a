"""The plans every installation starts with (seeded by migration 0002)."""

from __future__ import annotations

from typing import Any

# slug, name, daily quota, monthly price in cents, default for sign-ups
DEFAULT_PLANS: list[tuple[str, str, int, int, bool]] = [
    ("free", "Free", 50, 0, True),
    ("pro", "Pro", 2000, 2900, False),
    ("business", "Business", 20000, 19900, False),
]

# Requests in flight at once per account (Plan.max_in_flight): enough for a client that
# parallelises, few enough that one key cannot hold the web tier's capacity.
IN_FLIGHT_LIMITS: dict[str, int] = {"free": 8, "pro": 16, "business": 32}

# Unfinished jobs (queued or processing) per account (Plan.max_queued). An async request gives
# its in-flight slot back at its 202, so this is what bounds how much of the GPU queue one
# account can fill ahead of everyone else: a free account's daily quota cannot wait at once.
QUEUED_LIMITS: dict[str, int] = {"free": 20, "pro": 200, "business": 1000}


def seed_plans(plan_model: Any) -> None:
    """Create the default plans; works with the real model and with a migration's historical one."""
    for slug, name, quota, price, default in DEFAULT_PLANS:
        plan_model.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "daily_quota": quota, "monthly_price_cents": price, "is_default": default,
                      **_limit_defaults(plan_model, slug)},
        )


def _limit_defaults(plan_model: Any, slug: str) -> dict[str, int]:
    # Migration 0002's historical Plan predates these fields (0004 and 0005 set them on
    # existing plans).
    fields = {field.name for field in plan_model._meta.get_fields()}
    limits = {"max_in_flight": IN_FLIGHT_LIMITS[slug], "max_queued": QUEUED_LIMITS[slug]}
    return {name: value for name, value in limits.items() if name in fields}
