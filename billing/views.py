"""Billing pages (overview, buy, success, cancel) and Stripe's webhook endpoint.

Pages are thin: find the signed-in customer's account, call checkout/stripe_api, render.
A customer only ever sees rows of their own account.
"""

from __future__ import annotations

import logging
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Account, Plan
from artnex.errors import error_body

from . import checkout, stripe_api, subscriptions, webhooks
from .models import Checkout, CreditPack, CreditShortfall, StripeCustomer, Subscription

log = logging.getLogger(__name__)


def _account(request: HttpRequest) -> Account:
    """The signed-in user's customer account (staff without one get a 404, not someone else's)."""
    # login_required ran first: the user is a real, signed-in one.
    account = Account.objects.select_related("plan").filter(user=cast(User, request.user)).first()
    if account is None:
        raise Http404("This login has no customer account.")
    return account


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    page = Paginator(account.ledger.all(), 50).get_page(request.GET.get("page"))
    return render(request, "billing/overview.html", {
        "account": account, "page": page,
        "subscription": Subscription.objects.filter(account=account).order_by("-last_event_at").first(),
        "has_stripe_customer": StripeCustomer.objects.filter(account=account).exists(),
        "open_shortfalls": CreditShortfall.objects.filter(account=account, resolved_at__isnull=True),
        "payments_configured": stripe_api.configured(),
    })


def _live_subscription(account: Account) -> Subscription | None:
    return Subscription.objects.filter(account=account, status__in=subscriptions.KEEPS_PLAN).first()


@login_required
@require_GET
def buy(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    return render(request, "billing/buy.html", {
        "account": account, "payments_configured": stripe_api.configured(),
        "subscription": _live_subscription(account),
        "packs": CreditPack.objects.filter(active=True, price_cents__gt=0),
        "plans": Plan.objects.filter(monthly_price_cents__gt=0).order_by("monthly_price_cents"),
    })


@login_required
@require_POST
def start_checkout(request: HttpRequest, kind: str, slug: str) -> HttpResponse:
    account = _account(request)
    if kind not in {"pack", "plan"}:
        raise Http404("Only packs and plans are sold.")
    if not stripe_api.configured():
        messages.error(request, "Payments are not configured on this installation.")
        return HttpResponseRedirect(reverse("billing:buy"))
    pack = get_object_or_404(CreditPack, slug=slug, active=True) if kind == "pack" else None
    plan = get_object_or_404(Plan, slug=slug, monthly_price_cents__gt=0) if kind == "plan" else None
    if plan is not None and _live_subscription(account) is not None:
        # A second Checkout would start a second subscription, billed alongside the first.
        messages.error(request, "You already have a subscription: change or cancel it in Stripe's billing portal.")
        return HttpResponseRedirect(reverse("billing:overview"))
    try:
        url = checkout.start(account, pack=pack, plan=plan,
                             success_url=request.build_absolute_uri(reverse("billing:success")),
                             cancel_url=request.build_absolute_uri(reverse("billing:cancel")))
    except checkout.NotForSale:
        messages.error(request, "This item is not on sale in Stripe yet; the operator must run stripe_sync.")
        return HttpResponseRedirect(reverse("billing:buy"))
    except stripe_api.StripeError:
        log.exception("Stripe refused to start a checkout for account %s", account.pk)
        messages.error(request, "Stripe could not start the payment. Nothing was charged; please try again.")
        return HttpResponseRedirect(reverse("billing:buy"))
    return HttpResponseRedirect(url, status=303)


@login_required
@require_GET
def success(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    # Only the customer's own session: another account's session id shows nothing.
    row = Checkout.objects.select_related("pack", "plan").filter(
        account=account, session_id=request.GET.get("session_id", "")).first()
    return render(request, "billing/success.html", {"account": account, "checkout": row})


@login_required
@require_GET
def cancel(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/cancel.html", {"account": _account(request)})


@login_required
@require_POST
def billing_portal(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    customer = StripeCustomer.objects.filter(account=account).first()
    if customer is None or not stripe_api.configured():
        messages.error(request, "There is nothing to manage in Stripe for this account yet.")
        return HttpResponseRedirect(reverse("billing:overview"))
    try:
        url = stripe_api.billing_portal_url(customer_id=customer.customer_id,
                                            return_url=request.build_absolute_uri(reverse("billing:overview")))
    except stripe_api.StripeError:
        log.exception("Stripe refused a billing portal session for account %s", account.pk)
        messages.error(request, "Stripe's billing portal is not available right now; please try again.")
        return HttpResponseRedirect(reverse("billing:overview"))
    return HttpResponseRedirect(url, status=303)


@csrf_exempt  # Stripe cannot send a CSRF token; the signature authenticates the request instead.
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        received = webhooks.receive(request.body, request.headers.get("Stripe-Signature", ""))
    except webhooks.BadWebhook as exc:
        # The API's error shape; not an ApiError class: Stripe, not an API client, reads it.
        return JsonResponse(error_body("invalid_webhook", str(exc), None), status=400)
    return JsonResponse({"success": True, "duplicate": received.duplicate, "outcome": received.outcome})
