"""Every 400 of the contract, and the 400s for malformed requests: never a 500, never a charge."""

from __future__ import annotations

import base64
import json

import pytest

from billing.models import LedgerEntry
from tests.images import data_uri, image_bytes, png_header_only
from upscale.models import UpscaleRequest

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["request_id"].startswith("req_ups_")
    return body


@pytest.fixture(autouse=True)
def nothing_charged(customer, settings):
    # These tests run inside a transaction, so an accepted request would never reach the task
    # queue: fail fast instead of waiting for it.
    settings.ARTNEX_WAIT_SECONDS = 1
    yield
    assert customer.refresh().credits == 1000
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE).exists()
    assert not UpscaleRequest.objects.exists()


@pytest.mark.parametrize("body", [{}, {"image": ""}, {"image": None}, {"scale": 2}])
def test_missing_image(api, customer, body) -> None:
    assert_error(api.upscale(body, key=customer.key), 400, "missing_image")


@pytest.mark.parametrize(
    "image",
    [
        "data:image/png;base64,!!!notbase64!!!",
        "data:image/png;base64,iVBORw0KGgo",  # bad padding
        "data:image/png,rawbytes",  # not base64 at all
        data_uri(b"hello, I am text"),
        data_uri(image_bytes("GIF"), "image/gif"),  # a real image, but not an accepted format
        data_uri(image_bytes("BMP"), "image/png"),  # lies about its type
        data_uri(image_bytes("PNG")[:-40]),  # truncated
        data_uri(image_bytes("JPEG", (64, 64))[:300], "image/jpeg"),  # truncated JPEG
        "ftp://example.com/a.png",
        "just some words",
        "file:///etc/passwd",
    ],
)
def test_invalid_image_format(api, customer, image) -> None:
    assert_error(api.upscale({"image": image}, key=customer.key), 400, "invalid_image_format")


@pytest.mark.parametrize("image", [12345, ["data:..."], {"url": "https://x"}, True])
def test_image_not_a_string(api, customer, image) -> None:
    assert_error(api.upscale({"image": image}, key=customer.key), 400, "invalid_image_format")


@pytest.mark.parametrize("scale", ["2", True, False, None, 0, 0.99, 4.01, 5, -2, [2], {"v": 2}])
def test_invalid_scale(api, customer, scale) -> None:
    body = {"image": data_uri(image_bytes()), "scale": scale}
    assert_error(api.upscale(body, key=customer.key), 400, "invalid_scale")


def test_overflowing_scale(api, customer) -> None:
    raw = '{"image": "' + data_uri(image_bytes()) + '", "scale": 1e400}'  # valid JSON, parses to inf
    assert_error(api.upscale(None, key=customer.key, raw=raw), 400, "invalid_scale")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_malformed_json(api, customer, constant) -> None:
    raw = '{"image": "' + data_uri(image_bytes()) + '", "scale": ' + constant + "}"
    assert_error(api.upscale(None, key=customer.key, raw=raw), 400, "invalid_request")


def test_over_ten_megabytes(api, customer) -> None:
    data = image_bytes() + b"\0" * (10 * 1024 * 1024)
    assert_error(api.upscale({"image": data_uri(data)}, key=customer.key), 400, "image_too_large")


def test_decompression_bomb_refused_from_header(api, customer) -> None:
    body = {"image": data_uri(png_header_only(50_000, 50_000))}
    assert_error(api.upscale(body, key=customer.key), 400, "image_too_large")


def test_input_pixel_cap(api, customer, settings) -> None:
    settings.ARTNEX_MAX_INPUT_PIXELS = 20 * 20
    body = {"image": data_uri(image_bytes(size=(21, 20)))}
    assert_error(api.upscale(body, key=customer.key), 400, "image_too_large")


def test_output_pixel_cap(api, customer, settings) -> None:
    settings.ARTNEX_MAX_OUTPUT_PIXELS = 64 * 64
    body = {"image": data_uri(image_bytes(size=(32, 32))), "scale": 2.02}  # 64.64 rounds to 65
    assert_error(api.upscale(body, key=customer.key), 400, "image_too_large")


def test_malformed_json(api, customer) -> None:
    assert_error(api.upscale(None, key=customer.key, raw='{"image": '), 400, "invalid_request")


@pytest.mark.parametrize("raw", ["[1, 2]", '"data:image/png;base64,AAAA"', "42", "null"])
def test_body_not_an_object(api, customer, raw) -> None:
    assert_error(api.upscale(None, key=customer.key, raw=raw), 400, "invalid_request")


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]
)
def test_wrong_content_type(api, customer, content_type) -> None:
    raw = json.dumps({"image": data_uri(image_bytes())})
    assert_error(api.upscale(None, key=customer.key, raw=raw, content_type=content_type), 400, "invalid_request")


def test_body_not_utf8(api, customer) -> None:
    assert_error(api.upscale(None, key=customer.key, raw=b'{"image": "\xff\xfe"}'), 400, "invalid_request")


def test_animated_image_refused(api, customer) -> None:
    from io import BytesIO

    from PIL import Image

    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    buffer = BytesIO()
    frames[0].save(buffer, "PNG", save_all=True, append_images=frames[1:])
    body = {"image": data_uri(buffer.getvalue())}
    assert_error(api.upscale(body, key=customer.key), 400, "invalid_image_format")


def test_get_is_not_allowed(client, customer) -> None:
    response = client.get("/v1/upscale", HTTP_AUTHORIZATION=f"Bearer {customer.key}")
    assert_error(response, 405, "method_not_allowed")


def test_base64_with_line_breaks_is_accepted_by_decoder() -> None:
    # MIME-style wrapped base64 is common from shell tools (`base64` wraps at 76 columns).
    from upscale.intake import decode_data_uri

    data = image_bytes()
    encoded = base64.b64encode(data).decode()
    wrapped = "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))
    assert decode_data_uri("data:image/png;base64," + wrapped) == data


def test_body_over_the_upload_limit(api, customer, settings) -> None:
    # Far past what a 10 MB image can encode to: refused while reading the body.
    raw = '{"image": "data:image/png;base64,' + "A" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + '"}'
    assert_error(api.upscale(None, key=customer.key, raw=raw), 400, "image_too_large")
