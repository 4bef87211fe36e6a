"""``make run`` on embedded defaults, end to end: the first-run setup, ``manage.py migrate``,
then honcho running the Procfile (gunicorn, the Celery workers and beat as separate processes) on
SQLite, the filesystem broker and local files, with no outside service. Needs nothing but the
checkout, its .venv and the model weights, so it belongs to the unit tier; everything it
drives runs in real subprocesses.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.devstack.http import Answer
from tests.image_host import serving
from tests.images import data_uri, image_bytes
from tests.stack.harness import PRICE, Stack, assert_downloads_png, module_stack

BURST = 12


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from module_stack(tmp_path_factory, "make-run")


@pytest.fixture(scope="module")
def image_server() -> Iterator[str]:
    """A plain http server on this machine with one tiny PNG: the customer's image URL."""
    with serving({"/tiny.png": (200, image_bytes("PNG", (12, 10)), "image/png")}) as url:
        yield f"{url}/tiny.png"


def test_burst_spends_each_credit_once(stack: Stack) -> None:
    affordable = BURST // 2
    # Pro: its in-flight limit (16) lets all 12 requests in at once.
    key = stack.create_customer("burst@example.com", credits=affordable * PRICE, plan="pro")
    body = {"image": data_uri(image_bytes("PNG", (8, 8)))}
    start = threading.Barrier(BURST, timeout=60)

    def send(_: int) -> Answer:
        start.wait()
        return stack.upscale(key, body)

    with ThreadPoolExecutor(BURST) as pool:
        answers = list(pool.map(send, range(BURST)))

    seen = [(answer.status, answer.body[:300]) for answer in answers]
    assert sorted(answer.status for answer in answers) == [200] * affordable + [402] * (BURST - affordable), (
        f"{seen}\nstack output:\n{stack.tail()}")
    for answer in answers:
        result = answer.json()
        if answer.status == 402:
            assert result["success"] is False and result["error"]["code"] == "insufficient_credits"
        else:
            assert result["success"] is True and result["credits_used"] == PRICE
            assert result["image_url"].startswith(f"{stack.url}/")
            assert_downloads_png(result["image_url"], (16, 16))
    assert "database is locked" not in stack.output()


def test_image_url_input(stack: Stack, image_server: str) -> None:
    key = stack.create_customer("url@example.com", credits=PRICE)

    answer = stack.upscale(key, {"image": image_server, "scale": 2})

    assert answer.status == 200, f"{answer.body!r}\nstack output:\n{stack.tail()}"
    result = answer.json()
    assert (result["success"], result["width"], result["height"]) == (True, 24, 20)
    assert_downloads_png(result["image_url"], (24, 20))
    # The request id went to the worker in the task's headers and is in its log line.
    line = stack.wait_for_line("worker.1", "upscaled 12x10 -> 24x20")
    assert f"[{result['request_id']}]" in line
    # The balance is spent: the next request is refused before any work.
    refused = stack.upscale(key, {"image": image_server})
    assert (refused.status, refused.json()["error"]["code"]) == (402, "insufficient_credits")
    assert "database is locked" not in stack.output()

