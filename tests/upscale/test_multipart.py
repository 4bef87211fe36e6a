"""multipart/form-data uploads: the file in ``image``, other fields as text, same limits."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.images import image_bytes
from upscale.models import UpscaleRequest

from .conftest import path_of

pytestmark = pytest.mark.django_db(transaction=True)


def upload(data: bytes, name: str = "photo.bin") -> SimpleUploadedFile:
    # The file name and declared type are ignored: the bytes decide.
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def test_upload_with_text_fields(v1, client, customer) -> None:
    response = v1.upload({"image": upload(image_bytes("WEBP", (20, 10))), "scale": "1.5", "output_format": "png"},
                         customer.key)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["width"], body["height"], body["scale"]) == (30, 15, 1.5)
    result = Image.open(io.BytesIO(b"".join(client.get(path_of(body["image_url"])).streaming_content)))
    assert result.format == "PNG" and result.size == (30, 15)
    assert UpscaleRequest.objects.get(request_id=body["request_id"]).source == "upload"
    assert customer.refresh().credits == 900


def test_upload_async_and_width(v1, customer) -> None:
    response = v1.upload({"image": upload(image_bytes(size=(20, 10))), "async": "true", "width": "40"}, customer.key)
    assert response.status_code == 202, response.content
    status = v1.get(f"/v1/upscale/{response.json()['request_id']}", customer.key).json()
    assert (status["status"], status["width"], status["height"]) == ("succeeded", 40, 20)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"scale": "2"}, "missing_image"),
        ({"image": "", "scale": "2"}, "missing_image"),
        ({"image": upload(b"GIF89a not really")}, "invalid_image_format"),
        ({"image": upload(image_bytes()), "scale": "two"}, "invalid_scale"),
        ({"image": upload(image_bytes()), "scale": "9"}, "invalid_scale"),
        ({"image": upload(image_bytes()), "async": "maybe"}, "invalid_request"),
    ],
)
def test_upload_errors(v1, customer, fields, code) -> None:
    response = v1.upload(fields, customer.key)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert customer.refresh().credits == 1000


def test_upload_over_the_size_limit(v1, customer, settings) -> None:
    settings.ARTNEX_MAX_INPUT_BYTES = 1000
    response = v1.upload({"image": upload(image_bytes(size=(64, 64)) + b"\0" * 2000)}, customer.key)
    assert response.status_code == 400 and response.json()["error"]["code"] == "image_too_large"


def test_upload_body_over_the_limit_refused_before_parsing(v1, customer, settings) -> None:
    settings.ARTNEX_MAX_INPUT_BYTES = 1000
    response = v1.upload({"image": upload(b"\0" * 200_000)}, customer.key)
    assert response.status_code == 400 and response.json()["error"]["code"] == "image_too_large"


def test_upload_needs_a_key(v1, db) -> None:
    response = v1.upload({"image": upload(image_bytes())}, None)
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"
