"""Try it: upscale one image from the browser, through the same path (and price) as the API."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.customer import customer_view
from accounts.models import Account
from artnex.errors import ApiError

from .. import services
from ..intake import ImageSource, read_image
from .forms import TryItForm


@require_http_methods(["GET", "POST"])
@customer_view
def try_it(request: HttpRequest, account: Account) -> HttpResponse:
    form = TryItForm(request.POST or None, request.FILES or None)
    error: ApiError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            row = services.submit(account=account, source=_source(form), scale=form.cleaned_data["scale"])
            # Like the API, the page waits for the worker; the detail page then shows the result.
            row = services.wait(row.request_id)
        except ApiError as exc:
            # The contract's own code and message: the same words an API client would get.
            error = exc
        else:
            return redirect("portal:detail", request_id=row.request_id)
    status = error.status if error else 400 if form.errors else 200
    return render(request, "upscale/portal/try.html", {
        "form": form, "error": error, "account": account, "price": settings.ARTNEX_PRICE_CREDITS,
    }, status=status)


def _source(form: TryItForm) -> ImageSource:
    upload: UploadedFile | None = form.cleaned_data.get("image")
    if upload is not None:
        return ImageSource(upload.read(), "upload")
    # The same fetcher as the API's URL input: https only, no private addresses, size-capped.
    return read_image(form.cleaned_data["url"])
