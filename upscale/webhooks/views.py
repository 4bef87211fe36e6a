"""The portal's Webhooks page: the signing secret (shown, rotatable) and recent deliveries
with every attempt, so a customer can see why their endpoint did not get a result."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.models import Account

from .models import WebhookAttempt, WebhookDelivery
from .secret_store import rotate, secret_for

_SHOWN_DELIVERIES = 50


def _account(request: HttpRequest) -> Account:
    # login_required lets only an authenticated user in, so pk is set.
    account = Account.objects.filter(user_id=cast(int, request.user.pk)).first()
    if account is None:
        raise Http404("This login has no customer account.")
    return account


@login_required
@require_http_methods(["GET", "POST"])
def webhooks_page(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    if request.method == "POST":
        rotate(account)
        messages.success(request, "New signing secret created. The previous one stays valid for 24 hours.")
        return HttpResponseRedirect(reverse("upscale:webhooks"))
    deliveries = (
        WebhookDelivery.objects.filter(account=account).select_related("request")
        .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number")))
        .order_by("-created_at")[:_SHOWN_DELIVERIES]
    )
    return render(request, "upscale/webhooks.html", {"secret": secret_for(account), "deliveries": deliveries})
