"""The success path: shape, headers, charge, the real upscaled file behind the link."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from PIL import Image

from billing import ledger
from billing.models import LedgerEntry
from tests.images import data_uri, image_bytes
from upscale import storage
from upscale.models import UpscaleRequest

pytestmark = pytest.mark.django_db(transaction=True)


def download(client, url: str):
    return client.get(url.replace("http://testserver", ""))


def test_success_shape_and_charge(api, client, customer) -> None:
    response = api.upscale({"image": data_uri(image_bytes("PNG", (24, 16)))}, key=customer.key)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    assert body["credits_used"] == 100
    assert body["request_id"].startswith("req_ups_")
    assert (body["width"], body["height"]) == (48, 32)  # default scale 2
    assert body["image_url"].startswith("http://testserver/")
    assert customer.refresh().credits == 900
    assert ledger.ledger_balance(customer.account.pk) == 900
    row = UpscaleRequest.objects.get(request_id=body["request_id"])
    assert row.status == "succeeded" and row.credits_charged == 100 and row.model == "realesr-animevideov3"
    assert row.expires_at - row.finished_at == timedelta(hours=24)
    assert not storage.exists(row.input_file)  # the input is not kept once processed

    image = download(client, body["image_url"])
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    result = Image.open(io.BytesIO(b"".join(image.streaming_content)))
    assert result.size == (48, 32) and result.format == "PNG"


def test_rate_limit_headers_on_success(api, make_customer) -> None:
    customer = make_customer(daily_quota=5)
    response = api.upscale({"image": data_uri(image_bytes())}, key=customer.key)
    assert response.status_code == 200
    assert response["X-RateLimit-Limit"] == "5"
    assert response["X-RateLimit-Remaining"] == "4"
    tomorrow = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    assert int(response["X-RateLimit-Reset"]) == int(tomorrow.timestamp())


@pytest.mark.parametrize(
    ("fmt", "mime", "size", "scale", "expected"),
    [
        ("JPEG", "image/jpeg", (20, 15), 4, (80, 60)),
        ("WEBP", "image/webp", (20, 15), 1.5, (30, 23)),  # 22.5 rounds up
        ("PNG", "image/png", (21, 11), 1, (21, 11)),
        ("PNG", "image/png", (10, 10), 3, (30, 30)),
    ],
)
def test_formats_and_scales(api, client, customer, fmt, mime, size, scale, expected) -> None:
    response = api.upscale({"image": data_uri(image_bytes(fmt, size), mime), "scale": scale}, key=customer.key)
    assert response.status_code == 200, response.content
    body = response.json()
    result = Image.open(io.BytesIO(b"".join(download(client, body["image_url"]).streaming_content)))
    assert result.format == fmt
    assert result.size == expected == (body["width"], body["height"])


def test_declared_type_is_not_trusted(api, client, customer) -> None:
    # JPEG bytes declared as PNG: the bytes decide, and the result is a JPEG.
    response = api.upscale({"image": data_uri(image_bytes("JPEG"), "image/png")}, key=customer.key)
    assert response.status_code == 200
    assert response.json()["image_url"].endswith(".jpg") or ".jpg?" in response.json()["image_url"]


def test_alpha_jpeg_impossible_so_png_output(api, client, customer) -> None:
    response = api.upscale({"image": data_uri(image_bytes("PNG", mode="RGBA"))}, key=customer.key)
    result = Image.open(io.BytesIO(b"".join(download(client, response.json()["image_url"]).streaming_content)))
    assert result.mode == "RGBA"


def test_link_expires_after_24_hours(api, client, customer) -> None:
    body = api.upscale({"image": data_uri(image_bytes())}, key=customer.key).json()
    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59)):
        assert download(client, body["image_url"]).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        assert download(client, body["image_url"]).status_code == 410


def test_purge_deletes_expired_results(api, client, customer) -> None:
    from django.core.management import call_command

    body = api.upscale({"image": data_uri(image_bytes())}, key=customer.key).json()
    row = UpscaleRequest.objects.get(request_id=body["request_id"])
    call_command("purge_expired")
    assert storage.exists(row.result_file)  # not yet expired
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        call_command("purge_expired")
    assert not storage.exists(row.result_file)
    row.refresh_from_db()
    assert row.purged_at is not None
    # The signature is still valid, the file is gone: 404 even before the link's own expiry.
    assert download(client, body["image_url"]).status_code == 404


def test_tampered_link_is_refused(api, client, customer) -> None:
    url = api.upscale({"image": data_uri(image_bytes())}, key=customer.key).json()["image_url"]
    assert download(client, url.replace("signature=", "signature=0")).status_code == 404
    later = int(timezone.now().timestamp()) + 10 * 86400
    forged = url.split("?")[0] + f"?expires={later}&signature=" + url.split("signature=")[1]
    assert download(client, forged).status_code == 404
    other = api.upscale({"image": data_uri(image_bytes())}, key=customer.key).json()
    swapped = url.replace(url.split("/")[-2], other["request_id"])
    assert download(client, swapped).status_code == 404


def test_insufficient_credits(api, make_customer) -> None:
    customer = make_customer(credits=99)
    response = api.upscale({"image": data_uri(image_bytes())}, key=customer.key)
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credits"
    assert customer.refresh().credits == 99
    assert not UpscaleRequest.objects.exists()


def test_exactly_enough_credits_then_402(api, make_customer) -> None:
    customer = make_customer(credits=200)
    codes = [api.upscale({"image": data_uri(image_bytes())}, key=customer.key).status_code for _ in range(3)]
    assert codes == [200, 200, 402]
    assert customer.refresh().credits == 0
    assert ledger.ledger_balance(customer.account.pk) == 0
    assert LedgerEntry.objects.filter(account=customer.account, kind="charge").count() == 2


def test_deleting_a_request_deletes_its_file(api, customer) -> None:
    body = api.upscale({"image": data_uri(image_bytes())}, key=customer.key).json()
    row = UpscaleRequest.objects.get(request_id=body["request_id"])
    assert storage.exists(row.result_file)
    row.delete()
    assert not storage.exists(row.result_file)
