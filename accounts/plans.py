"""The plans every installation starts with (seeded by migration 0002)."""

from __future__ import annotations

from typing import Any

# slug, name, daily quota, monthly price in cents, default for sign-ups
DEFAULT_PLANS: list[tuple[str, str, int, int, bool]] = [
    ("free", "Free", 50, 0, True),
    ("pro", "Pro", 2000, 2900, False),
    ("business", "Business", 20000, 19900, False),
]


def seed_plans(plan_model: Any) -> None:
    """Create the default plans; works with the real model and with a migration's historical one."""
    for slug, name, quota, price, default in DEFAULT_PLANS:
        plan_model.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "daily_quota": quota, "monthly_price_cents": price, "is_default": default},
        )
