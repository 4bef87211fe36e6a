"""The input preview kept for the portal: made by the worker, gone with the result."""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
import pytest
import time_machine
from django.utils import timezone
from PIL import Image

from tests.images import data_uri, image_bytes
from upscale import previews, storage
from upscale.models import UpscaleRequest
from upscale.tasks import purge_expired


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_large_inputs_shrink_to_1024_on_the_long_side() -> None:
    preview = decoded(previews.make_preview(image_bytes("JPEG", (2000, 800))))
    assert preview.format == "WEBP"
    assert preview.size == (1024, 410)


def test_small_inputs_keep_their_size_and_alpha() -> None:
    preview = decoded(previews.make_preview(image_bytes("PNG", (40, 30), mode="RGBA")))
    assert preview.size == (40, 30)
    assert preview.mode == "RGBA"
    assert preview.getpixel((0, 0))[3] == 0 and preview.getpixel((39, 0))[3] == 255


def test_16_bit_greyscale_is_mapped_to_8_bits() -> None:
    array = np.linspace(0, 65535, 64 * 16, dtype=np.uint16).reshape(16, 64)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    preview = decoded(previews.make_preview(buffer.getvalue())).convert("L")
    assert preview.getpixel((0, 0)) < 10 and preview.getpixel((63, 15)) > 245


def test_a_broken_input_makes_no_preview_and_raises_nothing() -> None:
    assert previews.save_preview("req_ups_broken", b"not an image") is False


@pytest.mark.django_db(transaction=True)
def test_worker_keeps_a_preview_that_expires_with_the_result(api, customer) -> None:
    response = api.upscale({"image": data_uri(image_bytes("PNG", (24, 16)))}, key=customer.key)
    assert response.status_code == 200, response.content
    row = UpscaleRequest.objects.get(request_id=response.json()["request_id"])
    name = previews.preview_name(row.request_id)
    assert storage.exists(name) and not storage.exists(row.input_file)
    assert decoded(storage.read(name)).size == (24, 16)
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        assert purge_expired() == 1
    assert not storage.exists(name) and not storage.exists(row.result_file)


@pytest.mark.django_db(transaction=True)
def test_deleting_a_request_deletes_its_preview(api, customer) -> None:
    response = api.upscale({"image": data_uri(image_bytes("PNG", (24, 16)))}, key=customer.key)
    row = UpscaleRequest.objects.get(request_id=response.json()["request_id"])
    name = previews.preview_name(row.request_id)
    assert storage.exists(name)
    row.delete()
    assert not storage.exists(name)


@pytest.mark.django_db(transaction=True)
def test_deleting_the_result_through_the_api_deletes_the_preview(api, client, customer) -> None:
    response = api.upscale({"image": data_uri(image_bytes("PNG", (24, 16)))}, key=customer.key)
    request_id = response.json()["request_id"]
    assert storage.exists(previews.preview_name(request_id))
    deleted = client.delete(f"/v1/upscale/{request_id}", HTTP_AUTHORIZATION=f"Bearer {customer.key}")
    assert deleted.status_code == 200, deleted.content
    assert not storage.exists(previews.preview_name(request_id))


@pytest.mark.django_db
def test_a_preview_no_live_request_owns_is_swept(customer) -> None:
    from tests.portal import make_request
    from upscale import orphans

    kept = make_request(customer.account)
    previews.save_preview(kept.request_id, image_bytes("PNG", (8, 8)))
    previews.save_preview("req_ups_orphan", image_bytes("PNG", (8, 8)))
    assert orphans.sweep(now=timezone.now() + timedelta(hours=2)) >= 1
    assert storage.exists(previews.preview_name(kept.request_id))
    assert not storage.exists(previews.preview_name("req_ups_orphan"))
