"""API keys in the portal: create (shown once), list, revoke with confirmation."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import keys
from .customer import customer_view
from .forms import NewApiKeyForm
from .models import Account, ApiKey


@never_cache  # the answer to a POST shows the plain key: no cache may keep it
@require_http_methods(["GET", "POST"])
@customer_view
def api_keys(request: HttpRequest, account: Account) -> HttpResponse:
    form = NewApiKeyForm(request.POST or None)
    new_key = ""
    if request.method == "POST" and form.is_valid():
        # Rendered in this answer and never stored: a redirect would need to keep it somewhere.
        _, new_key = keys.create_key(account, form.cleaned_data["name"])
        form = NewApiKeyForm()
    status = 400 if form.errors else 200
    return render(request, "accounts/keys.html", {
        "form": form, "new_key": new_key, "keys": account.api_keys.all(),
    }, status=status)


@require_http_methods(["GET", "POST"])
@customer_view
def revoke_key(request: HttpRequest, account: Account, pk: int) -> HttpResponse:
    # Filtered by account: someone else's key is a 404, exactly like a key that does not exist.
    api_key = get_object_or_404(ApiKey, pk=pk, account=account)
    if request.method == "POST":
        if api_key.is_active:
            keys.revoke(api_key)
            messages.success(
                request, f"Key “{api_key.name}” ({api_key.prefix}…) is revoked: calls with it now get 401."
            )
        return redirect("accounts:keys")
    return render(request, "accounts/revoke.html", {"api_key": api_key})
