"""GET /v1/account: the balance, the plan and today's use of the daily quota."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Account, ApiKey
from artnex import errors
from artnex.openapi import error_responses

from .api_base import ApiView
from .quota import quota_state
from .response_serializers import AccountSerializer
from .results import iso


class AccountView(ApiView):
    @extend_schema(
        operation_id="account", summary="Balance, plan and today's quota use",
        responses={200: AccountSerializer,
                   **error_responses(errors.InvalidApiKey, errors.MethodNotAllowed, errors.InternalError)},
    )
    def get(self, request: Request) -> Response:
        account = Account.objects.select_related("plan", "user").get(pk=cast(ApiKey, request.auth).account_id)
        quota = quota_state(account)
        return Response({
            "success": True,
            "email": account.user.email,
            "credits": account.credits,
            "price_credits": settings.ARTNEX_PRICE_CREDITS,
            "plan": {"slug": account.plan.slug, "name": account.plan.name, "daily_quota": account.plan.daily_quota},
            "quota": {"limit": quota.limit, "used": quota.used, "remaining": quota.remaining,
                      "resets_at": iso(quota.resets_at)},
        }, headers=quota.headers())
