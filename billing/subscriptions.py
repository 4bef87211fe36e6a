"""An account's plan follows its Stripe subscription, whatever order the events come in.

Each Subscription row remembers the creation time of the event that last described it; an
older event never overwrites a newer state, and a canceled subscription stays canceled (Stripe
cannot reactivate one), so a late ``updated`` cannot undo a ``deleted``.
"""

from __future__ import annotations

from datetime import datetime

from accounts.models import Account, Plan

from .models import Subscription

# Statuses in which the customer keeps the plan's quota (past_due: Stripe is still retrying).
KEEPS_PLAN = {"active", "trialing", "past_due"}
# Statuses that end the plan: back to the default (free) plan.
ENDS_PLAN = {"canceled", "unpaid", "incomplete_expired", "paused"}


def apply(*, account: Account, subscription_id: str, plan: Plan | None, status: str | None, event_at: datetime,
          period_end: datetime | None = None) -> str:
    """Record what an event says about a subscription and move the account's plan; answers
    what happened, for the event log. ``status``/``plan`` None: the event does not say."""
    row = Subscription.objects.select_for_update().filter(subscription_id=subscription_id).first()
    if row is None:
        if plan is None:
            return "ignored: subscription for an unknown plan"
        row = Subscription(subscription_id=subscription_id, account=account, plan=plan,
                           status=status or "active", last_event_at=event_at, current_period_end=period_end)
    else:
        if period_end is not None and (row.current_period_end is None or period_end > row.current_period_end):
            row.current_period_end = period_end
        if row.status == "canceled":
            row.save()
            return "subscription already canceled: plan unchanged"
        if event_at < row.last_event_at:
            row.save()
            return "older than the state already applied: plan unchanged"
        row.plan = plan or row.plan
        row.status = status or row.status
        row.last_event_at = event_at
    row.save()
    return _settle_plan(account, row)


def _settle_plan(account: Account, row: Subscription) -> str:
    if row.status in KEEPS_PLAN:
        target = row.plan
    elif row.status in ENDS_PLAN:
        other = (Subscription.objects.filter(account=account, status__in=KEEPS_PLAN)
                 .exclude(pk=row.pk).order_by("-last_event_at").first())
        target = other.plan if other else (Plan.default() or row.plan)
    else:
        return f"subscription {row.status}: plan unchanged"
    if account.plan_id != target.pk:
        Account.objects.filter(pk=account.pk).update(plan=target)
        account.plan = target
        return f"plan is now {target.slug}"
    return f"plan stays {target.slug}"
