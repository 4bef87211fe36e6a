"""The documented Python client (docs/client_example.py) against a live server: sync, async
with polling, and async with a verified webhook. Only loopback traffic."""

from __future__ import annotations

import queue
from collections.abc import Iterator

import pytest
import requests

from tests import client_example
from tests.images import image_bytes
from upscale.webhooks.secret_store import rotate

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def example():
    return client_example.load()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with client_example.plain_session() as session:
        yield session


@pytest.fixture
def photo(tmp_path) -> str:
    path = tmp_path / "photo.jpg"
    path.write_bytes(image_bytes("JPEG", (20, 14)))
    return str(path)


def test_sync(example, live_server, customer, session, photo) -> None:
    client = example.Artnex(live_server.url, customer.key, session)
    result = client.upscale(photo, scale=2)
    assert result["success"] is True and (result["width"], result["height"]) == (40, 28)
    assert client_example.download(session, result["image_url"]).size == (40, 28)
    assert client.account()["credits"] == 900
    assert client.delete_result(result["request_id"])["image_url"] is None
    with pytest.raises(example.ArtnexError) as refused:
        example.Artnex(live_server.url, "ak_not_a_key", session).upscale(photo)
    assert refused.value.code == "invalid_api_key"


def test_async_with_polling(example, live_server, customer, session, photo) -> None:
    client = example.Artnex(live_server.url, customer.key, session)
    accepted = client.upscale(photo, scale=3, respond_async=True, output_format="png")
    assert accepted["status_url"].startswith(live_server.url)
    done = client.wait(accepted["request_id"], poll_seconds=0.1, timeout=120)
    assert done["status"] == "succeeded" and done["output_format"] == "png"
    assert client_example.download(session, done["image_url"]).size == (60, 42)


def test_async_with_verified_webhook(example, live_server, customer, session, photo, settings) -> None:
    settings.ARTNEX_ALLOW_PRIVATE_URLS = True  # the receiver is on loopback, plain http
    secret = rotate(customer.account).secret  # what the portal's Webhooks page shows
    results: queue.Queue = queue.Queue()
    server = example.webhook_server(secret, results.put, port=0)
    try:
        hook = f"http://127.0.0.1:{server.server_address[1]}/artnex"
        accepted = example.Artnex(live_server.url, customer.key, session).upscale(
            photo, respond_async=True, webhook_url=hook)
        result = results.get(timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    assert result["request_id"] == accepted["request_id"] and result["status"] == "succeeded"
    assert client_example.download(session, result["image_url"]).size == (40, 28)


def test_verification_refuses_a_forgery(example) -> None:
    import time

    body = b'{"status": "succeeded"}'
    good = example.verify_webhook
    from upscale.webhooks import signing

    header = signing.header_value(["whsec_x"], int(time.time()), body)
    assert good(header, body, "whsec_x")
    assert not good(header, body.replace(b"succeeded", b"failed"), "whsec_x")
    assert not good(header, body, "whsec_y")
    assert not good(signing.header_value(["whsec_x"], int(time.time()) - 3600, body), body, "whsec_x")
