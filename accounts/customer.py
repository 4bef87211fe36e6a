"""The customer behind a portal request: a logged-in user with an Account."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404

from .models import Account

CustomerView = Callable[..., HttpResponseBase]


def customer_view(view: CustomerView) -> CustomerView:
    """Log-in required, then call ``view(request, account, ...)`` with the user's own account.

    A login without a customer account (an operator's) gets a 404: portal pages only ever
    show the caller's own account, never anyone else's.
    """

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        account = get_object_or_404(Account.objects.select_related("plan", "user"), user_id=request.user.pk)
        return view(request, account, *args, **kwargs)

    return wrapped
