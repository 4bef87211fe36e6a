"""Inputs a hostile or careless client sends: each is a 4xx in the contract's shape, never a 500."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from tests.images import data_uri

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert (body["success"], body["error"]["code"]) == (False, code)


def test_deeply_nested_json_is_invalid_request(api, customer) -> None:
    depth = 50_000
    raw = '{"image": ' + "[" * depth + "]" * depth + "}"
    assert_error(api.upscale(None, key=customer.key, raw=raw), 400, "invalid_request")


@pytest.mark.parametrize("scale", ["1" + "0" * 399, "-" + "9" * 400])
def test_four_hundred_digit_scale_is_invalid_scale(api, customer, scale) -> None:
    raw = '{"image": "data:image/png;base64,AAAA", "scale": ' + scale + "}"
    assert_error(api.upscale(None, key=customer.key, raw=raw), 400, "invalid_scale")


@pytest.mark.parametrize("signature", ["é" * 64, "\u2603", "0" * 63 + "\u00ff"])
def test_download_link_with_non_ascii_signature_is_404(client, signature) -> None:
    response = client.get("/v1/results/req_ups_aaaaaaaaaaaaaaaaaaaa/upscaled.png",
                          {"expires": "4102444800", "signature": signature})
    assert response.status_code == 404


def mpo(first: str, second: str, size: tuple[int, int] = (20, 12)) -> bytes:
    """A two-picture MPO, as phones and stereo cameras write them."""
    buffer = io.BytesIO()
    Image.new("RGB", size, first).save(buffer, "MPO", save_all=True, append_images=[Image.new("RGB", size, second)])
    data = buffer.getvalue()
    assert Image.open(io.BytesIO(data)).format == "MPO"
    return data


@pytest.mark.django_db(transaction=True)
def test_multi_picture_jpeg_upscales_its_first_picture(api, customer, client) -> None:
    response = api.upscale({"image": data_uri(mpo("red", "blue"), "image/jpeg"), "scale": 2}, key=customer.key)

    assert response.status_code == 200, response.content[:300]
    body = response.json()
    assert (body["width"], body["height"], body["credits_used"]) == (40, 24, 100)
    download = client.get(body["image_url"].split("testserver", 1)[-1])
    assert download.status_code == 200
    result = Image.open(io.BytesIO(b"".join(download.streaming_content)))
    assert (result.format, result.size) == ("JPEG", (40, 24))
    red, _green, blue = result.convert("RGB").getpixel((20, 12))
    assert red > 200 and blue < 60, "the first picture (red), not the second (blue)"


def test_mpo_is_not_refused_as_animated(api, customer, settings) -> None:
    settings.ARTNEX_WAIT_SECONDS = 0.2  # accepted, then no worker in this transaction: 504
    response = api.upscale({"image": data_uri(mpo("red", "blue"), "image/jpeg")}, key=customer.key)
    assert response.status_code != 400, response.content[:300]
    assert json.loads(response.content)["error"]["code"] == "upscale_timeout"
