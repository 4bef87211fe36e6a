"""Scale-out on one machine, as separate hosts would run it: Redis (broker and shared cache) on a
host of its own and two GPU-queue workers each on another, every one a network namespace with
its own address; the web process on this host reaches Redis over its veth link, the workers
reach Redis, PostgreSQL and S3 (moto's server) over theirs; results on S3 behind presigned links.

Then the failures an operator meets: a worker host killed mid-job (every request accounted
for, the ledger reconciled) and the broker gone (readyz says so, the API answers 503 and keeps
no credits).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import boto3
import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from moto.server import ThreadedMotoServer

from billing import ledger
from billing.models import LedgerEntry
from tests.devstack import processes, redis_server
from tests.images import data_uri, image_bytes
from tests.integration import Answer, http, needs_services, post_upscale
from tests.production.network import Forwarder, Host, make_host, require_netns
from upscale.models import UpscaleRequest

pytestmark = [pytest.mark.integration, needs_services]
BUCKET = "artnex-scale-out"
BROKER_DB, CACHE_DB = 13, 12  # on the broker host's own Redis
REGION = "us-east-1"


@dataclass
class Cluster:
    url: str
    web: processes.Process
    workers: list[processes.Process]
    hosts: list[Host]
    web_broker: Forwarder
    s3: object
    s3_endpoint: str


def _moved(url: str, host: str, port: int, path: str | None = None) -> str:
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc, path=path if path is not None else parts.path))


def _environment(tmp: Path, *, database: str, redis_at: tuple[str, int], s3_endpoint: str,
                 broker_at: tuple[str, int] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_CURRENT_TEST"}
    broker_at = broker_at or redis_at
    env.update(
        ARTNEX_ENV="test", DATABASE_URL=database, CELERY_TASK_ALWAYS_EAGER="0",
        CELERY_BROKER_URL=f"redis://{broker_at[0]}:{broker_at[1]}/{BROKER_DB}",
        CACHE_URL=f"rediscache://{redis_at[0]}:{redis_at[1]}/{CACHE_DB}",
        ARTNEX_S3_BUCKET=BUCKET, ARTNEX_S3_ENDPOINT_URL=s3_endpoint, ARTNEX_S3_REGION=REGION,
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        # Short limits so that a dead host's message comes back within seconds, not an hour.
        ARTNEX_WAIT_SECONDS="90", ARTNEX_TASK_SOFT_TIME_LIMIT="12", ARTNEX_TASK_TIME_LIMIT="14",
        ARTNEX_BROKER_VISIBILITY_TIMEOUT="16",
        ARTNEX_LOG_FORMAT="json", ARTNEX_THREADS="1", ARTNEX_DEFAULT_MODEL="realesr-animevideov3",
        ARTNEX_VAR_DIR=str(tmp / "var"), PROMETHEUS_MULTIPROC_DIR=str(tmp / "metrics"),
        PATH=processes.path_with_venv(os.environ),
        # The keys this test process makes must hash alike in the web process.
        DJANGO_SECRET_KEY=settings.SECRET_KEY, ARTNEX_API_KEY_PEPPER=settings.ARTNEX_API_KEY_PEPPER,
    )
    (tmp / "metrics").mkdir(parents=True)
    return env


@pytest.fixture(scope="module")
def cluster(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_netns()
    from django.db import connection

    assert connection.vendor == "postgresql", "the integration tier runs on PostgreSQL"
    database = _moved(os.environ["DATABASE_URL"], "127.0.0.1", 5432, "/" + connection.settings_dict["NAME"])
    pg = urlsplit(database)
    cleanup: list[object] = []
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    cleanup.append(moto.stop)
    try:
        s3_port = moto.get_host_and_port()[1]
        s3_endpoint = f"http://127.0.0.1:{s3_port}"
        s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION, aws_access_key_id="testing",
                          aws_secret_access_key="testing")
        s3.create_bucket(Bucket=BUCKET)

        # The broker host: a Redis server of its own (empty, so nothing of an earlier run is
        # left in it), listening only on its namespace's address.
        broker_host = make_host(0)
        cleanup.append(broker_host.remove)
        redis_at = (broker_host.address, 6379)
        redis_process = processes.start(
            "redis", broker_host.command(redis_server.argv(
                broker_host.address, 6379, None,
                "--protected-mode", "no")),  # no password: only this test's namespaces reach the address
            dict(os.environ), tmp_path_factory.mktemp("redis") / "redis.log")
        cleanup.append(redis_process.stop)
        redis_server.wait_until_answering(redis_at, redis_process)

        web_broker = Forwarder(("127.0.0.1", 0), redis_at).start()
        cleanup.append(web_broker.stop)
        port = processes.free_port()
        tmp = tmp_path_factory.mktemp("web")
        # The web reaches the broker through a link the broker-outage test can cut.
        web_env = _environment(tmp, database=database, redis_at=redis_at, s3_endpoint=s3_endpoint,
                               broker_at=("127.0.0.1", web_broker.port))
        # Two web processes: /metrics must add up what each of them counted.
        web_env.update(HOST="127.0.0.1", PORT=str(port), ARTNEX_WEB_WORKERS="2")
        web = processes.start("web", processes.command("web"), web_env, tmp / "web.log")
        cleanup.append(web.stop)

        hosts, workers = [], []
        for index in (1, 2):
            host = make_host(index)
            cleanup.append(host.remove)
            hosts.append(host)
            # This machine's side of the link carries each service to the worker host.
            pg_link = Forwarder((host.gateway, 0), (pg.hostname or "127.0.0.1", pg.port or 5432)).start()
            redis_link = Forwarder((host.gateway, 0), redis_at).start()
            s3_link = Forwarder((host.gateway, 0), ("127.0.0.1", s3_port)).start()
            cleanup.extend([pg_link.stop, redis_link.stop, s3_link.stop])
            tmp = tmp_path_factory.mktemp(f"worker{index}")
            env = _environment(tmp, database=_moved(database, host.gateway, pg_link.port),
                               redis_at=(host.gateway, redis_link.port),
                               s3_endpoint=f"http://{host.gateway}:{s3_link.port}")
            env.update(ARTNEX_WORKER_METRICS_PORT="9808", ARTNEX_GPU=str(index - 1), ARTNEX_WORKER_NAME=f"gpu{index}")
            argv = host.command(processes.command("worker"))
            worker = processes.start(f"worker {index}", argv, env, tmp / "worker.log")
            cleanup.append(worker.stop)
            workers.append(worker)

        for index, worker in enumerate(workers):
            worker.wait_for(" ready.")
            worker.wait_for(f"worker pinned to GPU {index}")
        web.wait_for("Booting worker")
        _wait_until_answering(f"http://127.0.0.1:{port}/healthz", web)
        yield Cluster(f"http://127.0.0.1:{port}", web, workers, hosts, web_broker, s3, s3_endpoint)
    finally:
        for undo in reversed(cleanup):
            undo()  # type: ignore[operator]


def _wait_until_answering(url: str, process: processes.Process) -> None:
    processes.wait_until(lambda: http("GET", url, timeout=5).status == 200, f"{process.name} never answered {url}",
                         process)


def _submit_all(url: str, key: str, images: list[bytes]) -> list[Answer]:
    answers: list[Answer | None] = [None] * len(images)

    def one(index: int) -> None:
        answers[index] = post_upscale(url, key, {"image": data_uri(images[index]), "scale": 2})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(images))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert all(answer is not None for answer in answers), "a request never got an answer"
    return [answer for answer in answers if answer is not None]


def _started(log_text: str) -> list[str]:
    """Request ids a worker's JSON log says it started."""
    ids = []
    for line in log_text.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if str(record.get("message", "")).endswith(" started") and record.get("request_id"):
                ids.append(record["request_id"])
    return ids


def _accounted(request_ids: list[str], credits_before: int, account_id: int) -> None:
    """Each request charged exactly once and kept (succeeded), the balance equal to the ledger."""
    for request_id in request_ids:
        kinds = sorted(LedgerEntry.objects.filter(request_id=request_id).values_list("kind", flat=True))
        assert kinds == ["charge"], (request_id, kinds)
    rows = UpscaleRequest.objects.filter(request_id__in=request_ids)
    assert sorted(rows.values_list("status", flat=True)) == ["succeeded"] * len(request_ids)
    price = settings.ARTNEX_PRICE_CREDITS
    balance = ledger.ledger_balance(account_id)
    assert balance == credits_before - price * len(request_ids)
    from accounts.models import Account

    assert Account.objects.get(pk=account_id).credits == balance


@pytest.mark.django_db(transaction=True)
def test_requests_reach_both_worker_hosts_and_results_land_on_s3(cluster, make_customer) -> None:
    customer = make_customer(credits=10_000)
    images = [image_bytes("PNG", (48 + i, 40)) for i in range(4)]
    answers = _submit_all(cluster.url, customer.key, images)
    assert [answer.status for answer in answers] == [200] * 4, [answer.body[:300] for answer in answers]

    # Any free worker takes a request: with four at once, each host served some. The worker's
    # JSON log names each request by the id the API gave it (carried in the task message).
    for worker in cluster.workers:
        assert _started(worker.text()), f"{worker.name} took no request:\n{worker.tail()}"
    started = [request_id for worker in cluster.workers for request_id in _started(worker.text())]
    assert sorted(started) == sorted(answer.json()["request_id"] for answer in answers)
    for answer, image in zip(answers, images, strict=True):
        body = answer.json()
        link = urlsplit(body["image_url"])
        assert f"{link.scheme}://{link.netloc}" == cluster.s3_endpoint and "X-Amz-Signature" in link.query
        download = http("GET", body["image_url"])  # presigned: no credentials
        assert download.status == 200 and download.body.startswith(b"\x89PNG")
        assert (body["width"], body["height"]) == (2 * (48 + images.index(image)), 80)
    keys = [item["Key"] for item in cluster.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert len([key for key in keys if key.startswith("results/")]) == 4
    assert not [key for key in keys if key.startswith("inputs/")], "inputs must be deleted once used"
    _accounted([answer.json()["request_id"] for answer in answers], 10_000, customer.account.pk)

    # Each worker host serves its own metrics; the web its requests and the queues.
    worker_metrics = http("GET", f"http://{cluster.hosts[0].address}:9808/metrics").body.decode()
    assert 'artnex_upscale_duration_seconds_count{model="realesr-animevideov3",outcome="succeeded"}' in worker_metrics
    web_metrics = http("GET", f"{cluster.url}/metrics").body.decode()
    assert ('artnex_http_requests_total{error_code="",method="POST",status="200",view="upscale:upscale"} 4.0'
            in web_metrics)
    assert 'artnex_queue_depth{queue="upscale"} 0.0' in web_metrics


@pytest.mark.django_db(transaction=True)
def test_expired_results_are_removed_from_s3(cluster, make_customer) -> None:
    from upscale.tasks import purge_expired

    customer = make_customer(credits=1000)
    (answer,) = _submit_all(cluster.url, customer.key, [image_bytes("PNG", (24, 24))])
    assert answer.status == 200, answer.body
    row = UpscaleRequest.objects.get(request_id=answer.json()["request_id"])
    assert cluster.s3.head_object(Bucket=BUCKET, Key=row.result_file)["ContentLength"] > 0
    UpscaleRequest.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    storage = {"BACKEND": "storages.backends.s3.S3Storage",
               "OPTIONS": {"bucket_name": BUCKET, "endpoint_url": cluster.s3_endpoint, "region_name": REGION,
                           "access_key": "testing", "secret_key": "testing"}}
    with override_settings(STORAGES={**settings.STORAGES, "default": storage}, ARTNEX_S3_BUCKET=BUCKET):
        assert purge_expired() == 1
    assert "Contents" not in cluster.s3.list_objects_v2(Bucket=BUCKET, Prefix=row.result_file)
    assert http("GET", answer.json()["image_url"]).status == 404


@pytest.mark.django_db(transaction=True)
def test_a_worker_host_killed_mid_job_loses_no_request_and_charges_none_twice(cluster, make_customer) -> None:
    customer = make_customer(credits=10_000)
    doomed, survivor = cluster.workers
    seen = len(doomed.text())
    images = [image_bytes("PNG", (256 + i, 256)) for i in range(3)]
    answers: list[Answer] = []
    submitting = threading.Thread(target=lambda: answers.extend(_submit_all(cluster.url, customer.key, images)))
    submitting.start()
    # Kill the host the moment it has started a job: its message is unacknowledged and its
    # row is "processing" under an attempt that will never finish.
    doomed.wait_for(' started"', bound_s=120, since=seen)
    cluster.hosts[0].kill_everything()
    doomed.popen.wait(timeout=30)
    (killed,) = _started(doomed.text()[seen:])
    submitting.join(timeout=240)

    assert [answer.status for answer in answers] == [200] * 3, [answer.body[:300] for answer in answers]
    ids = [answer.json()["request_id"] for answer in answers]
    assert killed in ids
    assert killed in _started(survivor.text()), "the killed job was not re-delivered to the other host"
    assert f"upscale {killed} re-delivered" in survivor.text()
    _accounted(ids, 10_000, customer.account.pk)


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_readyz_fails_and_the_api_answers_503_keeping_no_credits(cluster, make_customer) -> None:
    customer = make_customer(credits=1000)
    cluster.web_broker.stop()
    try:
        ready = http("GET", f"{cluster.url}/readyz", timeout=60)
        assert ready.status == 503
        checks = ready.json()["checks"]
        assert checks["broker"]["ok"] is False and checks["database"]["ok"] is True

        answer = post_upscale(cluster.url, customer.key, {"image": data_uri(image_bytes("PNG", (16, 16)))})
        assert answer.status == 503, answer.body
        assert answer.json()["error"]["code"] == "service_unavailable"
        # The charge taken before queueing was given back in the same breath, and the answer says so.
        assert "refunded" in answer.json()["error"]["message"]
        assert customer.refresh().credits == 1000 == ledger.ledger_balance(customer.account.pk)
        row = UpscaleRequest.objects.get(request_id=answer.json()["request_id"])
        assert (row.status, row.credits_charged) == ("failed", 0)
    finally:
        cluster.web_broker.restart()
    assert http("GET", f"{cluster.url}/readyz", timeout=60).status == 200
