"""``make run`` with RabbitMQ as the Celery broker (``CELERY_BROKER_URL=amqp://...``), the
broker production may use instead of Redis: the same Procfile processes under honcho, on
SQLite and local files, with every task message going through RabbitMQ.

Integration tier: RabbitMQ must answer (ARTNEX_TEST_RABBITMQ_URL, default guest on
127.0.0.1:5672). When it does not, the test is skipped, or failed under
ARTNEX_REQUIRE_INTEGRATION=1 (CI, whose .ci/run starts it).

The stack gets a virtual host of its own, made with rabbitmqctl and deleted afterwards: messages
left on the default vhost by earlier runs, and any other consumer of its ``upscale`` queue on
this machine, cannot reach this stack's worker. Without rabbitmqctl (a broker elsewhere) the
default vhost is used; leftovers there are harmless (a message naming a request id the stack
does not know is dropped by the worker: no row to claim).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
from celery import Celery

from tests.devstack.http import http
from tests.images import data_uri, image_bytes
from tests.integration import needs_services, optional_service
from tests.stack.harness import PRICE, Stack, assert_downloads_png, module_stack

pytestmark = [pytest.mark.integration, needs_services]


def _rabbitmqctl(*args: str) -> subprocess.CompletedProcess[str] | None:
    """rabbitmqctl on this machine (it talks to the local node), or None where there is none."""
    command = shutil.which("rabbitmqctl") or next(
        (path for path in ("/usr/sbin/rabbitmqctl", "/usr/local/sbin/rabbitmqctl") if os.access(path, os.X_OK)), None)
    if command is None:
        return None
    try:
        return subprocess.run([command, *args], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


@dataclass(frozen=True)
class Broker:
    url: str
    vhost: str | None  # the vhost made for this module, None on the configured URL's own


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    """The broker URL for the stack: on a vhost of its own when this machine's rabbitmqctl can
    make one (the broker must be the local node), else the configured URL as it is."""
    url = optional_service("RABBITMQ_URL")
    parts = urlsplit(url)
    vhost = f"artnex-test-{os.getpid()}-{secrets.token_hex(3)}"
    local = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    made = _rabbitmqctl("add_vhost", vhost) if local else None
    if made is None or made.returncode != 0:
        why = made.stderr.strip() if made else "no local rabbitmqctl"
        print(f"no vhost of its own ({why}): using {parts.hostname}:{parts.port}{parts.path}")
        yield Broker(url, None)
        return
    try:
        allowed = _rabbitmqctl("set_permissions", "-p", vhost, unquote(parts.username or "guest"), ".*", ".*", ".*")
        assert allowed is not None and allowed.returncode == 0, allowed and allowed.stderr
        yield Broker(parts._replace(path="/" + quote(vhost, safe="")).geturl(), vhost)
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    yield from module_stack(tmp_path_factory, "make-run-rabbitmq", env={"CELERY_BROKER_URL": broker.url})


def test_an_upscale_goes_through_rabbitmq(stack: Stack, broker: Broker) -> None:
    parts = urlsplit(broker.url)
    # Celery's own line ("Connected to amqp://guest:**@127.0.0.1:5672/<vhost>"), from each worker.
    for worker in ("worker.1", "housekeeping.1"):
        line = stack.wait_for_line(worker, "Connected to amqp://")
        assert line.rstrip().endswith(f"{parts.hostname}:{parts.port}{parts.path}"), line
    key = stack.create_customer("rabbit@example.com", credits=PRICE)

    answer = stack.upscale(key, {"image": data_uri(image_bytes("PNG", (12, 10))), "scale": 2})

    assert answer.status == 200, f"{answer.body!r}\nstack output:\n{stack.tail()}"
    result = answer.json()
    assert (result["success"], result["credits_used"], result["width"], result["height"]) == (True, PRICE, 24, 20)
    assert_downloads_png(result["image_url"], (24, 20))
    # The request id travelled in the message's headers through RabbitMQ to the worker.
    line = stack.wait_for_line("worker.1", "upscaled 12x10 -> 24x20")
    assert f"[{result['request_id']}]" in line


def queue_depths(stack: Stack) -> dict[str, float]:
    metrics = http("GET", f"{stack.url}/metrics")
    assert metrics.status == 200, metrics.body[:300]
    found = re.findall(r'^artnex_queue_depth\{queue="(\w+)"\} (\S+)$', metrics.body.decode(), re.MULTILINE)
    return {queue: float(depth) for queue, depth in found}


def test_readyz_and_metrics_ask_rabbitmq(stack: Stack) -> None:
    ready = http("GET", f"{stack.url}/readyz")

    assert ready.status == 200, ready.body
    assert ready.json()["checks"]["broker"] | {"ms": 0} == {"ok": True, "detail": "py-amqp", "ms": 0}
    assert queue_depths(stack) == {"upscale": 0, "housekeeping": 0}


def test_queue_depth_is_what_rabbitmq_counts(stack: Stack, broker: Broker, monkeypatch: pytest.MonkeyPatch) -> None:
    """The housekeeping worker stops consuming (a remote control command, through the broker),
    three sweeps are queued, and the scrape counts them (beat may have added its own); once it
    consumes again the queue drains."""
    if broker.vhost is None:
        pytest.skip("needs a vhost of its own: other consumers of a shared vhost would take the messages")
    monkeypatch.setenv("CELERY_BROKER_URL", broker.url)  # Celery prefers it to any configuration
    control = Celery(broker=broker.url, set_as_current=False)
    worker = [f"housekeeping@{socket.gethostname()}"]
    try:
        assert control.control.cancel_consumer("housekeeping", destination=worker, reply=True, timeout=10), (
            stack.tail())
        for _ in range(3):
            control.send_task("upscale.tasks.fail_stale", queue="housekeeping")
        waiting = queue_depths(stack)
        assert waiting["upscale"] == 0 and waiting["housekeeping"] >= 3, waiting
    finally:
        control.control.add_consumer("housekeeping", destination=worker, reply=True, timeout=10)
        control.close()
    deadline = time.monotonic() + 60
    while (depths := queue_depths(stack))["housekeeping"] and time.monotonic() < deadline:
        time.sleep(0.3)
    assert depths == {"upscale": 0, "housekeeping": 0}, stack.tail()


def test_every_connection_dropped_by_the_broker_costs_no_request(stack: Stack, broker: Broker) -> None:
    """What a RabbitMQ restart or failover does to the stack: the broker closes every connection
    (the workers' consumers, the web's pooled publisher, beat's). The workers reconnect on their
    own, and the web's next publish reconnects within its retry policy."""
    if broker.vhost is None:
        pytest.skip("needs a vhost of its own: dropping connections on a shared vhost would hit others")
    key = stack.create_customer("reconnect@example.com", credits=2 * PRICE)
    body = {"image": data_uri(image_bytes("PNG", (12, 10))), "scale": 2}
    before = stack.upscale(key, body)  # the web process now holds a publishing connection
    assert before.status == 200, f"{before.body!r}\nstack output:\n{stack.tail()}"

    closed = _rabbitmqctl("close_all_connections", "--vhost", broker.vhost, "artnex test: broker restart")
    assert closed is not None and closed.returncode == 0, closed and closed.stderr

    for worker in ("worker.1", "housekeeping.1"):
        stack.wait_for_line(worker, "Connection to broker lost")
    answer = stack.upscale(key, body)
    assert answer.status == 200, f"{answer.body!r}\nstack output:\n{stack.tail()}"
    assert_downloads_png(answer.json()["image_url"], (24, 20))
    assert http("GET", f"{stack.url}/readyz").status == 200


def _wait_for_match(stack: Stack, pattern: str, since: int = 0, bound_s: float = 90) -> re.Match[str]:
    """The first match of ``pattern`` (multiline) in the stack output after offset ``since``."""
    deadline = time.monotonic() + bound_s
    while True:
        found = re.compile(pattern, re.MULTILINE).search(stack.output(), since)
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"nothing matched {pattern!r} in the stack output:\n{stack.tail()}")
        time.sleep(0.1)


def test_a_connection_lost_while_an_upscale_runs_answers_and_charges_once(stack: Stack, broker: Broker) -> None:
    """The broker closes every connection while the worker runs a synchronous upscale. The run
    goes on (settings keep worker_cancel_long_running_tasks_on_connection_loss off), and RabbitMQ
    re-delivers its unacknowledged message, flagged re-delivered, to the worker once it has
    reconnected: the same worker, the only consumer, which takes it when its one pool process is
    free, i.e. once the first run has finished. That second delivery finds the request succeeded,
    so claim(redelivered=True) refuses it: the customer gets one 200, one result, one charge."""
    if broker.vhost is None:
        pytest.skip("needs a vhost of its own: dropping connections on a shared vhost would hit others")
    key = stack.create_customer("mid-job@example.com", credits=2 * PRICE)
    # realesrgan-x4plus (not yet loaded by this worker) on 160x160 at x4: several seconds of
    # work on a CPU, so the connections are closed well before it ends (asserted below).
    body = {"image": data_uri(image_bytes("PNG", (160, 160))), "scale": 4, "model": "realesrgan-x4plus"}
    since = len(stack.output())
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(stack.upscale, key, body)
        started = _wait_for_match(stack, r"^.*worker\.1 .*\[(req_ups_\w+)\] upscale \1 started$", since)
        request_id = started.group(1)
        closed = _rabbitmqctl("close_all_connections", "--vhost", broker.vhost, "artnex test: lost mid-upscale")
        assert closed is not None and closed.returncode == 0, closed and closed.stderr
        answer = running.result(timeout=120)

    assert answer.status == 200, f"{answer.body!r}\nstack output:\n{stack.tail()}"
    result = answer.json()
    assert (result["success"], result["request_id"], result["credits_used"], result["model"]) == (
        True, request_id, PRICE, "realesrgan-x4plus")
    assert_downloads_png(result["image_url"], (640, 640))
    # The worker's log, in order: the run started, its connection was lost, the run finished
    # regardless, and the re-delivered message (Celery logs it received a second time) was
    # refused by the claim. Celery's "received" line carries the task id, the request id.
    received = rf"^.*worker\.1 .*Task upscale\.tasks\.process_upscale\[{request_id}\] received$"
    lost = _wait_for_match(stack, r"^.*worker\.1 .*Connection to broker lost.*$", started.end())
    finished = _wait_for_match(stack, rf"^.*worker\.1 .*\[{request_id}\] upscaled 160x160 -> 640x640 .*$",
                               lost.end())
    redelivered = _wait_for_match(stack, received, lost.end())
    refused = _wait_for_match(stack, rf"^.*worker\.1 .*\[{request_id}\] upscale {request_id} is no longer queued; "
                              r"nothing to do$", max(finished.end(), redelivered.end()))
    print("\n".join(match.group(0) for match in (started, lost, redelivered, finished, refused)))
    log = stack.output()[since:]
    assert len(re.findall(received, log, re.MULTILINE)) == 2, stack.tail()
    assert log.count(f"upscale {request_id} started") == 1, stack.tail()
    assert log.count(f"[{request_id}] upscaled 160x160 -> 640x640") == 1, stack.tail()
    assert f"upscale {request_id} re-delivered" not in log, stack.tail()  # never run a second time
    # The first run's late ack goes to the channel that was closed: kombu logs that (CRITICAL,
    # with a traceback) and drops it; RabbitMQ had already re-queued the message. Nothing else
    # went wrong: no crash, no failure, no other error.
    problems = re.findall(r"^.*(?:ERROR|CRITICAL)/.*$", log, re.MULTILINE)
    assert len(problems) == 1 and log.count("Traceback") == 1, stack.tail()
    assert "worker.1" in problems[0] and "Couldn't ack" in problems[0], problems
    assert "connection already closed" in problems[0], problems

    state = stack.manage("shell", "-c", (
        "from accounts.models import Account; from billing import ledger; from billing.models import LedgerEntry; "
        "from upscale.models import UpscaleRequest; "
        f"row = UpscaleRequest.objects.get(request_id={request_id!r}); "
        "account = Account.objects.get(pk=row.account_id); "
        f"entries = sorted(LedgerEntry.objects.filter(request_id={request_id!r}).values_list('kind', 'amount')); "
        "print(row.status, row.result_file, row.credits_charged, account.credits, "
        "ledger.ledger_balance(account.pk), entries)"))
    status, result_file, charged, balance, ledger_balance, entries = state.strip().splitlines()[-1].split(" ", 5)
    assert (status, result_file, charged) == ("succeeded", f"results/{request_id}/upscaled.png", str(PRICE)), state
    assert (balance, ledger_balance, entries) == (str(PRICE), str(PRICE), f"[('charge', {-PRICE})]"), state
    results = Path(stack.env["ARTNEX_VAR_DIR"]) / "media" / "results" / request_id
    assert sorted(path.name for path in results.iterdir()) == ["upscaled.png"]

    # The worker is back on a live connection and takes the next request.
    after = stack.upscale(key, {"image": data_uri(image_bytes("PNG", (12, 10))), "scale": 2})
    assert after.status == 200, f"{after.body!r}\nstack output:\n{stack.tail()}"
    assert_downloads_png(after.json()["image_url"], (24, 20))
