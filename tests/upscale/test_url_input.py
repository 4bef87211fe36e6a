"""Image URLs through the API: a local server stands in for the customer's image host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.image_host import serving
from tests.images import image_bytes

pytestmark = pytest.mark.django_db(transaction=True)
PNG = image_bytes("PNG", (20, 12))


@pytest.fixture
def image_host() -> Iterator[str]:
    with serving({"/photo.png": (200, PNG), "/page.html": (200, b"<html>not an image</html>"),
                  "/missing.png": (404, b"not found"), "/moved": (302, b"/photo.png")}) as url:
        yield url


@pytest.fixture
def private_urls_allowed(settings) -> None:
    settings.ARTNEX_ALLOW_PRIVATE_URLS = True


@pytest.mark.usefixtures("private_urls_allowed")
@pytest.mark.parametrize("path", ["/photo.png", "/moved"])
def test_url_input(api, customer, image_host, path) -> None:
    response = api.upscale({"image": image_host + path, "scale": 2}, key=customer.key)
    assert response.status_code == 200, response.content
    assert (response.json()["width"], response.json()["height"]) == (40, 24)
    assert customer.refresh().credits == 900


@pytest.mark.usefixtures("private_urls_allowed")
@pytest.mark.parametrize("path", ["/page.html", "/missing.png"])
def test_url_that_does_not_answer_an_image(api, customer, image_host, path) -> None:
    response = api.upscale({"image": image_host + path}, key=customer.key)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_image_format"
    assert customer.refresh().credits == 1000


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("/photo.png", "https"),  # plain http to loopback: refused twice over
        ("https://127.0.0.1:9/photo.png", "private or reserved"),
        ("https://169.254.169.254/latest/meta-data/", "private or reserved"),
        ("https://10.0.0.1/photo.png", "private or reserved"),
        ("https://[::1]/photo.png", "private or reserved"),
        ("https://[::ffff:127.0.0.1]/photo.png", "private or reserved"),
    ],
)
def test_ssrf_targets_refused_by_default(api, customer, image_host, url, why) -> None:
    target = image_host + url if url.startswith("/") else url
    response = api.upscale({"image": target}, key=customer.key)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "invalid_image_format"
    assert why in body["error"]["message"]
    assert customer.refresh().credits == 1000
