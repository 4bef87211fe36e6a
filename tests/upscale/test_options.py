"""model, output_format, and width or height instead of scale."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.images import data_uri, image_bytes
from upscale.models import UpscaleRequest

from .conftest import path_of

pytestmark = pytest.mark.django_db(transaction=True)


def result_image(client, body) -> Image.Image:
    return Image.open(io.BytesIO(b"".join(client.get(path_of(body["image_url"])).streaming_content)))


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


def test_model_by_registry_name_any_case(v1, customer) -> None:
    response = v1.post({"image": data_uri(image_bytes()), "model": "RealESR-AnimeVideoV3"}, customer.key)
    assert response.status_code == 200, response.content
    assert response.json()["model"] == "realesr-animevideov3"


@pytest.mark.parametrize("model", ["no-such-model", 42, ["realesr-animevideov3"], "x" * 200])
def test_unknown_model_is_400_and_free(v1, customer, model) -> None:
    assert_error(v1.post({"image": data_uri(image_bytes()), "model": model}, customer.key), 400, "invalid_model")
    assert customer.refresh().credits == 1000


@pytest.mark.parametrize(("fmt", "pil"), [("png", "PNG"), ("webp", "WEBP"), ("jpeg", "JPEG")])
def test_output_format(v1, client, customer, fmt, pil) -> None:
    response = v1.post({"image": data_uri(image_bytes("JPEG"), "image/jpeg"), "output_format": fmt}, customer.key)
    assert response.status_code == 200, response.content
    assert response.json()["output_format"] == fmt.lower()
    assert result_image(client, response.json()).format == pil


@pytest.mark.parametrize("fmt", ["gif", "tiff", "JPEG", 3, True])
def test_unknown_output_format(v1, customer, fmt) -> None:
    response = v1.post({"image": data_uri(image_bytes()), "output_format": fmt}, customer.key)
    assert_error(response, 400, "invalid_output_format")


@pytest.mark.parametrize(("fields", "expected"), [({"width": 60}, (60, 40)), ({"height": 33}, (50, 33)),
                                                  ({"width": 30}, (30, 20))])
def test_width_or_height_keeps_the_aspect(v1, client, customer, fields, expected) -> None:
    response = v1.post({"image": data_uri(image_bytes(size=(30, 20))), **fields}, customer.key)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["width"], body["height"]) == expected == result_image(client, body).size
    assert UpscaleRequest.objects.get(request_id=body["request_id"]).scale == body["scale"]


@pytest.mark.parametrize(
    "fields",
    [{"width": 121}, {"width": 29}, {"height": 81}, {"width": 60, "height": 40}, {"width": 60, "scale": 2},
     {"width": 60.5}, {"width": "60"}, {"width": True}, {"height": 0}, {"width": -60}],
)
def test_bad_width_or_height_is_invalid_scale(v1, customer, fields) -> None:
    response = v1.post({"image": data_uri(image_bytes(size=(30, 20))), **fields}, customer.key)
    assert_error(response, 400, "invalid_scale")
    assert customer.refresh().credits == 1000
