"""The documented Python client (docs/client_example.py) against the real ``make run`` stack:
gunicorn with its uvicorn worker, the Celery worker and the housekeeping worker that delivers
webhooks, each its own process, on SQLite and the filesystem broker. tests/upscale's
test_client_example runs the same client against pytest-django's live_server with in-process
tasks; this one is what a customer's script meets. Unit tier, like test_make_run_sqlite: it
needs no outside service. Loopback traffic only; tiny images on the small default model.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from tests import client_example
from tests.images import image_bytes
from tests.stack.harness import PRICE, Stack, module_stack

_RESULT_BOUND_S = 120.0  # a guard against a hang, not a measurement


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from module_stack(tmp_path_factory, "client-example")


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return client_example.load()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with client_example.plain_session() as session:
        yield session


@pytest.fixture
def photo(tmp_path: Path) -> str:
    path = tmp_path / "photo.jpg"
    path.write_bytes(image_bytes("JPEG", (20, 14)))
    return str(path)


def webhook_secret(stack: Stack, email: str) -> str:
    """The account's signing secret, the one the portal's Webhooks page shows (created on first
    need), read by the operator's shell on the stack's own database."""
    output = stack.manage("shell", "-c", (
        "from accounts.models import Account; from upscale.webhooks.secret_store import secret_for; "
        f"print(secret_for(Account.objects.get(user__email={email!r})).secret)"))
    return output.strip().splitlines()[-1]


def test_sync_upscale_download_account_and_delete(example: ModuleType, stack: Stack, session: requests.Session,
                                                  photo: str) -> None:
    key = stack.create_customer("sync@example.com", credits=3 * PRICE)
    client = example.Artnex(stack.url, key, session)

    result = client.upscale(photo, scale=2)

    assert result["success"] is True, f"{result}\n{stack.tail()}"
    assert (result["width"], result["height"], result["credits_used"]) == (40, 28, PRICE)
    assert result["image_url"].startswith(f"{stack.url}/")
    image = client_example.download(session, result["image_url"])
    assert (image.format, image.size) == ("JPEG", (40, 28))
    assert client.account()["credits"] == 2 * PRICE
    deleted = client.delete_result(result["request_id"])
    assert (deleted["status"], deleted["image_url"]) == ("succeeded", None)
    assert session.get(result["image_url"], timeout=30).status_code == 404
    with pytest.raises(example.ArtnexError) as refused:
        example.Artnex(stack.url, "ak_not_a_key", session).upscale(photo)
    assert (refused.value.status, refused.value.code) == (401, "invalid_api_key")


def test_async_with_polling(example: ModuleType, stack: Stack, session: requests.Session, photo: str) -> None:
    key = stack.create_customer("poll@example.com", credits=PRICE)
    client = example.Artnex(stack.url, key, session)

    accepted = client.upscale(photo, scale=3, respond_async=True, output_format="png")

    assert accepted["status_url"].startswith(f"{stack.url}/"), accepted
    done = client.wait(accepted["request_id"], poll_seconds=0.2, timeout=_RESULT_BOUND_S)
    assert (done["status"], done["output_format"]) == ("succeeded", "png"), f"{done}\n{stack.tail()}"
    image = client_example.download(session, done["image_url"])
    assert (image.format, image.size) == ("PNG", (60, 42))


def test_async_with_a_webhook_verified_by_the_example(example: ModuleType, stack: Stack,
                                                      session: requests.Session, photo: str) -> None:
    key = stack.create_customer("hook@example.com", credits=PRICE)
    secret = webhook_secret(stack, "hook@example.com")
    assert secret.startswith("whsec_")
    results: queue.Queue[dict[str, Any]] = queue.Queue()
    # The example's receiver hands on only deliveries its verify_webhook accepts (a forged or
    # wrongly signed one is answered 400 and retried later): a result here passed it.
    server = example.webhook_server(secret, results.put, port=0)
    try:
        hook = f"http://127.0.0.1:{server.server_address[1]}/artnex"
        accepted = example.Artnex(stack.url, key, session).upscale(photo, respond_async=True, webhook_url=hook)
        try:
            result = results.get(timeout=_RESULT_BOUND_S)
        except queue.Empty:
            pytest.fail(f"no verified webhook delivery within {_RESULT_BOUND_S} s:\n{stack.tail()}")
    finally:
        server.shutdown()
        server.server_close()
    assert (result["request_id"], result["status"]) == (accepted["request_id"], "succeeded"), result
    assert client_example.download(session, result["image_url"]).size == (40, 28)
    # Sent by the housekeeping worker, its process of its own, under the request's id.
    stack.wait_for_line("housekeeping.1", f"[{accepted['request_id']}]", "upscale.webhooks.deliver", "succeeded")
