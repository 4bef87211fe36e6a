"""The landing page: what the service runs (its models) and how to call it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .engine import list_models
from .runtime import default_model
from .terms import product_terms


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"default_model": default_model(), "models": list_models(), **product_terms()})
