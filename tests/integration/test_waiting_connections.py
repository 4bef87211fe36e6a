"""A waiting request holds no database connection between its polls (hundreds of waiters must
not exhaust PostgreSQL's connection slots). On PostgreSQL: the unit tier's in-memory SQLite
database cannot be closed between polls."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.integration import needs_services
from tests.portal import make_request
from upscale.models import UpscaleRequest
from upscale.waiting import wait_for_result

pytestmark = [pytest.mark.integration, needs_services, pytest.mark.django_db(transaction=True)]


class WatchedPause(threading.Event):
    """The waiter's pause between polls: records whether this thread holds a connection while
    it sleeps, and lets the worker finish the job after a few polls."""

    def __init__(self, request_id: str, polls: int) -> None:
        super().__init__()
        self.request_id, self.polls = request_id, polls
        self.connection_open: list[bool] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.connection_open.append(connection.connection is not None)
        if len(self.connection_open) == self.polls:
            UpscaleRequest.objects.filter(request_id=self.request_id).update(status=UpscaleRequest.Status.SUCCEEDED)
        return super().wait(timeout)


def test_the_waiter_holds_no_connection_between_polls(customer) -> None:
    assert connection.vendor == "postgresql"
    row = make_request(customer.account, status=UpscaleRequest.Status.QUEUED, finished_at=None)
    pause = WatchedPause(row.request_id, polls=3)

    done = wait_for_result(row.request_id, timezone.now() + timedelta(seconds=30), pause)

    assert done.status == UpscaleRequest.Status.SUCCEEDED
    assert pause.connection_open == [False, False, False]
