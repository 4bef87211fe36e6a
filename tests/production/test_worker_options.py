"""How a GPU worker is started: ``--gpu`` pins it, and a re-delivered upscale is taken over."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from artnex import gpu
from upscale import redelivery

REPO = Path(__file__).resolve().parents[2]


def test_the_worker_command_line_offers_gpu() -> None:
    result = subprocess.run([sys.executable, "-m", "celery", "-A", "artnex", "worker", "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=120, check=True)
    assert "--gpu" in result.stdout


def test_pinning_sets_cuda_visible_devices_for_the_pool(monkeypatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("ARTNEX_GPU", raising=False)
    assert gpu.pin(None) is None and "CUDA_VISIBLE_DEVICES" not in os.environ
    assert gpu.pin("3") == "3" and os.environ["CUDA_VISIBLE_DEVICES"] == "3"
    monkeypatch.setenv("ARTNEX_GPU", "1")
    assert gpu.pin(None) == "1" and os.environ["CUDA_VISIBLE_DEVICES"] == "1"


def test_routing_puts_upscales_and_housekeeping_on_separate_queues(settings) -> None:
    from artnex.celery import app

    router = app.amqp.router
    assert router.route({}, "upscale.tasks.process_upscale")["queue"].name == settings.ARTNEX_UPSCALE_QUEUE == "upscale"
    for housekeeping in ("upscale.tasks.purge_expired", "upscale.tasks.fail_stale"):
        assert router.route({}, housekeeping)["queue"].name == "housekeeping"
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_time_limit > app.conf.task_soft_time_limit
    assert app.conf.task_time_limit < settings.ARTNEX_BROKER_VISIBILITY_TIMEOUT
    # A dropped broker connection does not kill a running upscale (settings.py says why).
    assert app.conf.worker_cancel_long_running_tasks_on_connection_loss is False


def test_with_rabbitmq_the_longest_job_must_end_within_its_consumer_timeout() -> None:
    """RabbitMQ re-delivers a message held unacknowledged past its consumer_timeout: settings
    refuse time limits that would let a job run that long (each case a fresh process)."""

    def start(**env: str) -> subprocess.CompletedProcess[str]:
        code = "import django; django.setup(); from django.conf import settings; print(settings.CELERY_TASK_TIME_LIMIT)"
        limits = ("ARTNEX_WAIT_SECONDS", "ARTNEX_TASK_TIME_LIMIT", "ARTNEX_TASK_SOFT_TIME_LIMIT",
                  "ARTNEX_BROKER_VISIBILITY_TIMEOUT", "ARTNEX_RABBITMQ_CONSUMER_TIMEOUT")  # the product's defaults
        base = {key: value for key, value in os.environ.items() if key not in limits}
        return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                              env={**base, "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//", **env},
                              check=False)

    assert start().stdout.split() == ["390"]  # the defaults: 300 s wait + 90, well inside 30 min
    refused = start(ARTNEX_TASK_TIME_LIMIT="1800")
    assert refused.returncode != 0
    assert "ARTNEX_RABBITMQ_CONSUMER_TIMEOUT (1800 s, RabbitMQ's consumer_timeout) must exceed" in refused.stderr
    # A long wait is a long job too, whatever the configured time limit.
    assert start(ARTNEX_WAIT_SECONDS="2000", ARTNEX_TASK_TIME_LIMIT="600").returncode != 0
    assert start(ARTNEX_TASK_TIME_LIMIT="1800", ARTNEX_RABBITMQ_CONSUMER_TIMEOUT="3600").stdout.split() == ["1800"]


def test_a_message_is_a_redelivery_only_when_the_broker_says_so() -> None:
    assert not redelivery.is_redelivery(SimpleNamespace(delivery_info=None))
    assert not redelivery.is_redelivery(SimpleNamespace(delivery_info={"redelivered": False}))
    assert redelivery.is_redelivery(SimpleNamespace(delivery_info={"redelivered": True}))


@pytest.mark.django_db
def test_an_image_that_kills_its_workers_is_given_up_after_two_deliveries(make_customer) -> None:
    from django.core.cache import cache

    cache.delete("upscale:deliveries:req_ups_poison")
    assert redelivery.may_run_again("req_ups_poison")  # the second delivery runs
    assert not redelivery.may_run_again("req_ups_poison")  # a third is refused


@pytest.mark.django_db
def test_only_a_redelivered_message_takes_over_a_request_left_processing(make_customer) -> None:
    from accounts.models import ApiKey
    from tests.images import image_bytes
    from upscale import inspect, lifecycle, storage
    from upscale.ids import new_request_id
    from upscale.intake import ImageSource
    from upscale.models import UpscaleRequest

    customer = make_customer(credits=1000)
    data = image_bytes("PNG", (16, 16))
    info = inspect.inspect_image(data)
    request_id = new_request_id()
    lifecycle.create(
        request_id=request_id, account_id=customer.account.pk, api_key=ApiKey.objects.get(account=customer.account),
        source=ImageSource(data, "data"),
        info=info, scale=2.0, output_size=inspect.check_output(info, 2.0), model="realesr-animevideov3",
        input_file=storage.save(storage.input_name(request_id), data),
    )
    assert lifecycle.claim(request_id)  # the first worker, which then dies
    assert not lifecycle.claim(request_id)  # a duplicate first delivery never runs it twice
    assert lifecycle.claim(request_id, redelivered=True)  # the broker's re-delivery takes it over
    lifecycle.fail(request_id, "processing_failed", "test")
    assert not lifecycle.claim(request_id, redelivered=True)  # a finished request stays finished
    assert UpscaleRequest.objects.get(request_id=request_id).status == "failed"
