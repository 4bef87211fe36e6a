"""Try it: the portal's upload/URL form, through the API's own pipeline and price."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from billing import ledger
from billing.models import LedgerEntry
from tests.image_host import serving
from tests.images import image_bytes
from tests.portal import login
from upscale import previews, storage
from upscale.models import UpscaleRequest

pytestmark = pytest.mark.django_db(transaction=True)
PNG = image_bytes("PNG", (24, 16))


def upload(data: bytes = PNG, name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


@pytest.fixture
def image_host() -> Iterator[str]:
    with serving({"/photo.png": (200, PNG), "/page.html": (200, b"<html>not an image</html>")}) as url:
        yield url


def test_needs_a_login(client) -> None:
    response = client.get(reverse("portal:try"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_form_shows_price_and_balance(client, customer) -> None:
    response = login(client, customer.account).get(reverse("portal:try"))
    assert response.status_code == 200
    assert b"Upscale for 100 credits" in response.content
    assert b"1,000" in response.content
    assert b'enctype="multipart/form-data"' in response.content


def test_upload_is_upscaled_charged_and_shown(client, customer) -> None:
    login(client, customer.account)
    response = client.post(reverse("portal:try"), {"image": upload(), "scale": "2"})
    assert response.status_code == 302
    row = UpscaleRequest.objects.get(account=customer.account)
    assert response["Location"] == reverse("portal:detail", args=[row.request_id])
    assert row.status == "succeeded" and row.api_key is None
    assert (row.output_width, row.output_height) == (48, 32)
    assert row.credits_charged == 100 and customer.refresh().credits == 900
    assert LedgerEntry.objects.get(request_id=row.request_id).amount == -100
    assert ledger.ledger_balance(customer.account.pk) == 900
    assert storage.exists(row.result_file) and storage.exists(previews.preview_name(row.request_id))
    detail = client.get(response["Location"])
    assert b"data-compare" in detail.content


def test_fractional_scale(client, customer) -> None:
    login(client, customer.account)
    client.post(reverse("portal:try"), {"image": upload(), "scale": "1.5"})
    row = UpscaleRequest.objects.get(account=customer.account)
    assert row.scale == 1.5 and (row.output_width, row.output_height) == (36, 24)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, b"Choose an image to upload"),
        ({"scale": "7"}, b"Select a valid choice"),
        ({"url": "not a url", "scale": "2"}, b"Enter a valid URL"),
    ],
)
def test_form_errors_charge_nothing(client, customer, data, message) -> None:
    login(client, customer.account)
    response = client.post(reverse("portal:try"), {"scale": "2", **data})
    assert response.status_code == 400
    assert message in response.content
    assert not UpscaleRequest.objects.exists()
    assert customer.refresh().credits == 1000


def test_a_file_and_a_url_together_are_refused(client, customer) -> None:
    login(client, customer.account)
    response = client.post(reverse("portal:try"), {"image": upload(), "url": "https://example.com/a.png",
                                                   "scale": "2"})
    assert response.status_code == 400 and b"not both" in response.content


def test_not_an_image_gets_the_contract_code(client, customer) -> None:
    login(client, customer.account)
    response = client.post(reverse("portal:try"), {"image": upload(b"GIF89a nope", "x.gif"), "scale": "2"})
    assert response.status_code == 400
    assert b"invalid_image_format" in response.content
    assert not UpscaleRequest.objects.exists() and customer.refresh().credits == 1000


def test_too_large_files_are_refused_before_reading(client, customer, settings) -> None:
    settings.ARTNEX_MAX_INPUT_BYTES = len(PNG) - 1
    login(client, customer.account)
    response = client.post(reverse("portal:try"), {"image": upload(), "scale": "2"})
    assert response.status_code == 400 and b"This file is larger than" in response.content
    assert not UpscaleRequest.objects.exists()


def test_insufficient_credits(client, make_customer) -> None:
    poor = make_customer(credits=50)
    login(client, poor.account)
    response = client.post(reverse("portal:try"), {"image": upload(), "scale": "2"})
    assert response.status_code == 402
    assert b"insufficient_credits" in response.content
    assert poor.refresh().credits == 50


def test_daily_quota(client, make_customer) -> None:
    limited = make_customer(daily_quota=0)
    login(client, limited.account)
    response = client.post(reverse("portal:try"), {"image": upload(), "scale": "2"})
    assert response.status_code == 429
    assert b"rate_limit_exceeded" in response.content


def test_private_urls_are_refused_like_the_api(client, customer, image_host) -> None:
    login(client, customer.account)
    response = client.post(reverse("portal:try"), {"url": f"{image_host}/photo.png", "scale": "2"})
    assert response.status_code == 400
    assert b"invalid_image_format" in response.content
    assert not UpscaleRequest.objects.exists()


def test_url_input(client, customer, image_host, settings) -> None:
    settings.ARTNEX_ALLOW_PRIVATE_URLS = True
    login(client, customer.account)
    response = client.post(reverse("portal:try"), {"url": f"{image_host}/photo.png", "scale": "2"})
    assert response.status_code == 302
    row = UpscaleRequest.objects.get(account=customer.account)
    assert row.source == "url" and row.source_url.endswith("/photo.png") and row.status == "succeeded"
    page = client.post(reverse("portal:try"), {"url": f"{image_host}/page.html", "scale": "2"})
    assert page.status_code == 400 and b"invalid_image_format" in page.content


def test_csrf_is_enforced(customer) -> None:
    client = login(Client(enforce_csrf_checks=True), customer.account)
    assert client.post(reverse("portal:try"), {"image": upload(), "scale": "2"}).status_code == 403
    assert not UpscaleRequest.objects.exists()


def test_a_low_balance_is_announced_before_submitting(client, make_customer) -> None:
    poor = make_customer(credits=50)
    response = login(client, poor.account).get(reverse("portal:try"))
    assert b"below the price of one upscale" in response.content
