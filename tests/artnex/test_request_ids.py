"""Request ids: bound while a request is served, carried to tasks in a header, in log lines."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from artnex import celery as celery_wiring
from artnex import ids
from artnex.errors import UpscaleTimeout
from tests.images import data_uri, image_bytes
from upscale import services


def record() -> logging.LogRecord:
    return logging.LogRecord("upscale.tasks", logging.INFO, __file__, 1, "hello", None, None)


def test_the_filter_names_the_bound_request() -> None:
    filter_ = ids.RequestIdFilter()
    outside = record()
    assert filter_.filter(outside) and outside.request_id == "-"
    with ids.bound("req_ups_abc"):
        inside = record()
        assert filter_.filter(inside) and inside.request_id == "req_ups_abc"
    assert ids.current() is None


def test_the_configured_log_format_shows_it(settings) -> None:
    formatter = logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"])
    line = record()
    with ids.bound("req_ups_abc"):
        ids.RequestIdFilter().filter(line)
    assert "[req_ups_abc] hello" in formatter.format(line)


def test_a_task_queued_during_a_request_carries_its_id_to_the_worker() -> None:
    headers: dict[str, str] = {}
    with ids.bound("req_ups_abc"):
        celery_wiring._send_request_id(headers=headers)
    assert headers == {ids.TASK_HEADER: "req_ups_abc"}
    celery_wiring._send_request_id(headers=(outside := {}))
    assert outside == {}  # nothing to carry outside a request

    # The worker side: Celery puts the message's headers on the task's request context.
    task = SimpleNamespace(request=SimpleNamespace(**headers))
    celery_wiring._bind_request_id(task_id="t1", task=task)
    assert ids.current() == "req_ups_abc"
    celery_wiring._unbind_request_id(task_id="t1")
    assert ids.current() is None


@pytest.mark.django_db(transaction=True)  # the task is queued on the real commit, inside the request
def test_the_api_binds_the_id_it_answers(api, customer, monkeypatch) -> None:
    seen: list[str | None] = []

    def give_up(request_id: str, gone: object = None) -> None:
        raise UpscaleTimeout()

    monkeypatch.setattr(services, "enqueue", lambda request_id: seen.append(ids.current()))
    monkeypatch.setattr(services, "wait", give_up)
    response = api.upscale({"image": data_uri(image_bytes())}, key=customer.key)
    assert response.status_code == 504
    assert seen == [response.json()["request_id"]]
    assert ids.current() is None  # unbound once the response is made
