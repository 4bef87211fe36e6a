"""A customer pays only for a result they can get: jobs whose waiter is gone are refunded and
not run, every failure after the charge refunds and says so, and no customer image outlives
its request."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from tests.images import data_uri, image_bytes
from tests.refunds import assert_refunded
from upscale import engine, lifecycle, services, storage, tasks
from upscale.models import UpscaleRequest

FailureCode = UpscaleRequest.FailureCode

pytestmark = pytest.mark.django_db(transaction=True)
BODY = {"image": data_uri(image_bytes())}


def assert_says_refunded(body: dict) -> None:
    message = body["error"]["message"]
    assert "100 credits charged for it were refunded" in message, message
    assert "No credits were charged" not in message


def answered_refunded(response, customer, status: int, code: str) -> dict:
    """The contract's error, its message saying the credits were refunded, and the ledger
    agreeing: one charge, one refund, the balance back."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"]["code"] == code
    assert_says_refunded(body)
    assert_refunded(customer, body["request_id"])
    return body


@pytest.fixture
def no_worker(monkeypatch):
    queued: list[str] = []
    monkeypatch.setattr(services, "enqueue", lambda request_id: queued.append(request_id))
    return queued


@pytest.fixture
def revoked(monkeypatch):
    names: list[str] = []
    monkeypatch.setattr(tasks.process_upscale.app.control, "revoke", lambda task_id, **kw: names.append(task_id))
    return names


@pytest.fixture
def web_process_dies(monkeypatch):
    def dies(request_id, gone=None):
        raise SystemExit  # after the charge, before any answer

    monkeypatch.setattr(services, "wait_for_result", dies)


def accept_and_die(api, customer) -> UpscaleRequest:
    with pytest.raises(SystemExit):
        api.upscale(BODY, key=customer.key)
    row = UpscaleRequest.objects.get()
    assert row.status == "queued" and customer.refresh().credits == 900
    return row


def test_the_waiters_deadline_is_stored_on_the_row(api, customer, no_worker, web_process_dies, settings) -> None:
    before = timezone.now()
    row = accept_and_die(api, customer)
    assert row.wait_deadline is not None
    assert before + timedelta(seconds=settings.ARTNEX_WAIT_SECONDS) <= row.wait_deadline
    assert row.wait_deadline <= timezone.now() + timedelta(seconds=settings.ARTNEX_WAIT_SECONDS)


def test_a_job_picked_up_after_its_waiters_deadline_is_refunded_not_run(
        api, customer, no_worker, web_process_dies, monkeypatch) -> None:
    row = accept_and_die(api, customer)
    monkeypatch.setattr(engine, "upscale_bytes", lambda *a, **k: pytest.fail("a job no one waits for ran"))

    with time_machine.travel(row.wait_deadline + timedelta(seconds=1)):
        tasks.process_upscale(row.request_id)

    row.refresh_from_db()
    assert (row.status, row.error_code, row.credits_charged) == ("failed", "upscale_timeout", 0)
    assert_refunded(customer, row.request_id)
    assert not storage.exists(row.input_file)


def test_a_job_picked_up_in_time_runs(api, customer, no_worker, web_process_dies) -> None:
    row = accept_and_die(api, customer)
    tasks.process_upscale(row.request_id)
    row.refresh_from_db()
    assert row.status == "succeeded" and storage.exists(row.result_file)


def test_the_tasks_time_limits_fit_inside_the_wait(api, customer, monkeypatch, settings) -> None:
    settings.ARTNEX_WAIT_SECONDS = 300
    sent: list[dict] = []
    monkeypatch.setattr(tasks.process_upscale, "apply_async", lambda args, **options: sent.append(options))
    settings.ARTNEX_WAIT_SECONDS = 0.3
    api.upscale(BODY, key=customer.key)
    assert sent and sent[0]["task_id"] == UpscaleRequest.objects.get().request_id
    for wait in (300.0, 30.0, 2.0):
        soft, hard = services.task_limits(wait)
        assert 0 < soft < hard <= wait


def test_a_wait_longer_than_the_task_limit_keeps_the_task_limit(customer, monkeypatch, settings) -> None:
    """An operator may let clients wait longer than a task may run; the job's limits stay within
    CELERY_TASK_TIME_LIMIT, which the broker's visibility timeout is sized to."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.portal import make_request

    sent: list[dict] = []
    monkeypatch.setattr(tasks.process_upscale, "apply_async", lambda args, **options: sent.append(options))
    settings.CELERY_TASK_TIME_LIMIT = 390
    row = make_request(customer.account, status=UpscaleRequest.Status.QUEUED,
                       wait_deadline=timezone.now() + timedelta(seconds=1000))
    services.enqueue(row.request_id)
    assert sent[0]["time_limit"] == 390 and 0 < sent[0]["soft_time_limit"] < 390


def test_a_waiter_that_gives_up_refunds_revokes_and_deletes_the_input(
        api, customer, no_worker, revoked, settings) -> None:
    settings.ARTNEX_WAIT_SECONDS = 0.3
    body = answered_refunded(api.upscale(BODY, key=customer.key), customer, 504, "upscale_timeout")
    assert revoked == [body["request_id"]]
    assert not storage.exists(UpscaleRequest.objects.get().input_file)


def test_a_result_never_handed_out_is_refunded_by_the_stale_sweep(
        api, customer, no_worker, web_process_dies) -> None:
    row = accept_and_die(api, customer)
    tasks.process_upscale(row.request_id)  # the worker finishes: nobody is there to hand it out
    row.refresh_from_db()
    assert row.status == "succeeded" and storage.exists(row.result_file)

    assert tasks.fail_stale() == 0
    with time_machine.travel(row.wait_deadline + timedelta(minutes=10)):
        assert tasks.fail_stale() == 1

    row.refresh_from_db()
    assert row.status == "failed"
    assert_refunded(customer, row.request_id)
    assert not storage.exists(row.result_file) and not storage.exists(row.input_file)


def test_a_delivered_result_is_never_refunded(api, customer) -> None:
    response = api.upscale(BODY, key=customer.key)
    assert response.status_code == 200
    row = UpscaleRequest.objects.get()
    assert row.delivered_at is not None
    with time_machine.travel(row.wait_deadline + timedelta(minutes=10)):
        assert tasks.fail_stale() == 0
    assert customer.refresh().credits == 900


def test_a_link_that_cannot_be_built_is_refunded(api, customer, monkeypatch) -> None:
    def presign_fails(*args, **kwargs):
        raise RuntimeError("S3 presign: credentials expired")

    monkeypatch.setattr(storage, "result_url", presign_fails)
    answered_refunded(api.upscale(BODY, key=customer.key), customer, 500, "internal_error")
    row = UpscaleRequest.objects.get()
    assert row.status == "failed" and not storage.exists(row.result_file)


def test_an_answer_that_cannot_be_built_after_the_wait_is_refunded(api, customer, monkeypatch) -> None:
    """The answer's rate-limit headers are built before the delivery is recorded: a database
    error there refunds, instead of a charged request answered 500 without its link."""
    from upscale import views

    def quota_unreadable(account):
        raise RuntimeError("database connection lost")

    monkeypatch.setattr(views, "quota_state", quota_unreadable)
    answered_refunded(api.upscale(BODY, key=customer.key), customer, 500, "internal_error")
    assert UpscaleRequest.objects.get().delivered_at is None


def test_worker_failures_say_truthfully_that_credits_were_refunded(api, customer, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise engine.EngineError("the model produced NaNs")

    monkeypatch.setattr(engine, "upscale_bytes", broken)
    body = api.upscale(BODY, key=customer.key).json()
    assert body["error"]["code"] == "processing_failed"
    assert_says_refunded(body)


def test_a_queue_outage_refunds_says_so_and_deletes_the_input(api, customer, monkeypatch) -> None:
    def down(*args, **kwargs):
        raise ConnectionRefusedError("broker unreachable")

    monkeypatch.setattr(tasks.process_upscale, "apply_async", down)
    response = api.upscale(BODY, key=customer.key)
    assert response.status_code == 503
    assert_says_refunded(response.json())
    assert not storage.exists(UpscaleRequest.objects.get().input_file)


def test_a_retried_result_write_keeps_the_links_name(api, customer, client, monkeypatch) -> None:
    real_save = default_storage.save
    failures = []

    def save_then_lose_the_answer(name, content, *args, **kwargs):
        saved = real_save(name, content, *args, **kwargs)
        if name.startswith("results/") and not failures:
            failures.append(saved)  # written, but the storage's answer never arrived
            raise OSError("connection reset by peer")
        return saved

    monkeypatch.setattr(default_storage, "save", save_then_lose_the_answer)
    monkeypatch.setattr(tasks.time, "sleep", lambda seconds: None)
    response = api.upscale(BODY, key=customer.key)

    assert response.status_code == 200, response.content
    assert failures, "the first write did fail"
    download = client.get(response.json()["image_url"].split("testserver", 1)[-1])
    assert download.status_code == 200
    row = UpscaleRequest.objects.get()
    assert row.result_file == storage.result_name(row.request_id, "png")
    # The lost write left nothing beside it: no second name, no partial file.
    assert default_storage.listdir(f"results/{row.request_id}")[1] == ["upscaled.png"]


def old(name: str, data: bytes = b"x") -> str:
    default_storage.save(name, ContentFile(data))
    stamp = time.time() - 2 * 3600
    os.utime(default_storage.path(name), (stamp, stamp))
    return name


def test_the_purge_sweeps_orphaned_inputs_and_results(api, customer) -> None:
    response = api.upscale(BODY, key=customer.key)
    live = UpscaleRequest.objects.get()
    orphans = [old("inputs/req_ups_orphanedinput000000"), old("results/req_ups_orphanedresult00000/upscaled.png")]
    young = "inputs/req_ups_uploadinprogress0000"
    default_storage.save(young, ContentFile(b"x"))
    os.utime(default_storage.path(live.result_file), (time.time() - 7200,) * 2)

    tasks.purge_expired()

    assert not any(default_storage.exists(name) for name in orphans)
    assert default_storage.exists(young), "an upload a moment before its row is not an orphan"
    assert default_storage.exists(live.result_file), "a live result is kept until it expires"
    assert response.status_code == 200


def test_a_running_job_whose_waiter_gave_up_stops_between_tiles(
        api, customer, no_worker, web_process_dies, monkeypatch) -> None:
    row = accept_and_die(api, customer)
    clock = iter(range(0, 10_000, 2))  # every look at the clock is two seconds later
    monkeypatch.setattr(tasks.time, "monotonic", lambda: float(next(clock)))
    tiles_done: list[int] = []

    def tiled_upscale(data, scale, *, progress, **kwargs):
        for tile in range(1, 5):
            if tile == 2:  # meanwhile the waiter gives up (a client that hung up)
                assert lifecycle.abandon(row.request_id, FailureCode.UPSCALE_TIMEOUT, "the client disconnected")
            progress(tile, 4)
            tiles_done.append(tile)
        pytest.fail("the upscale ran to the end for no one")

    monkeypatch.setattr(engine, "upscale_bytes", tiled_upscale)
    tasks.process_upscale(row.request_id)

    assert tiles_done == [1]
    row.refresh_from_db()
    assert (row.status, row.result_file) == ("failed", "")
    assert_refunded(customer, row.request_id)


def test_a_copy_that_loses_the_race_keeps_the_winners_result(
        api, customer, no_worker, web_process_dies, monkeypatch) -> None:
    """Two runs of one request (a re-delivered message taken by a second worker while the first
    still ran): both save under the request's one result name. The run whose success is refused
    must not delete the file the winner's row hands out, or a paid link would answer 404."""
    row = accept_and_die(api, customer)
    real_succeed = lifecycle.succeed

    def the_other_copy_wins_first(request_id: str, **fields: object) -> bool:
        assert storage.exists(row.input_file), "the input went before the request was finished"
        assert real_succeed(request_id, **fields)  # the other worker's run, with the same file name
        return real_succeed(request_id, **fields)  # this run: refused, the row is terminal

    monkeypatch.setattr(lifecycle, "succeed", the_other_copy_wins_first)
    tasks.process_upscale(row.request_id)

    row.refresh_from_db()
    assert row.status == "succeeded" and storage.exists(row.result_file)
    assert not storage.exists(row.input_file)
    assert customer.refresh().credits == 900


def test_a_refused_result_nobody_hands_out_is_deleted(api, customer, no_worker, web_process_dies,
                                                      monkeypatch) -> None:
    """The waiter gave up just before the worker finished: the refused result is not left behind."""
    row = accept_and_die(api, customer)
    real_succeed = lifecycle.succeed
    names: list[str] = []

    def the_waiter_gives_up_first(request_id: str, **fields: object) -> bool:
        names.append(str(fields["result_file"]))
        lifecycle.abandon(request_id, UpscaleRequest.FailureCode.UPSCALE_TIMEOUT, "the waiter gave up")
        return real_succeed(request_id, **fields)

    monkeypatch.setattr(lifecycle, "succeed", the_waiter_gives_up_first)
    tasks.process_upscale(row.request_id)

    assert names and not storage.exists(names[0])
    assert not storage.exists(row.input_file)
    assert_refunded(customer, row.request_id)


def _a_second_run_wins_meanwhile(monkeypatch, request_id: str) -> list[bool]:
    """While this run upscales, a re-delivered copy of its message (a second worker: the first
    one's host looked lost) runs the same request to success. Returns a flag set once it won."""
    from upscale import redelivery

    real_upscale = engine.upscale_bytes
    nested: list[bool] = []
    monkeypatch.setattr(redelivery, "is_redelivery", lambda task_request: bool(nested))

    def the_copy_finishes_first(*args, **kwargs):
        result = real_upscale(*args, **kwargs)
        if not nested:
            nested.append(True)
            tasks.process_upscale(request_id)  # the re-delivered copy, start to finish
            assert UpscaleRequest.objects.get(request_id=request_id).status == "succeeded"
        return result

    monkeypatch.setattr(engine, "upscale_bytes", the_copy_finishes_first)
    return nested


def test_a_copy_that_finishes_after_the_winner_does_not_overwrite_its_paid_result(
        api, customer, no_worker, web_process_dies, monkeypatch) -> None:
    """The losing run must not touch the winner's file at all: storage.save deletes what is
    under the name before writing, so a write that then fails (disk full, S3 error, a kill)
    would leave the paid, handed-out link answering 404."""
    row = accept_and_die(api, customer)
    _a_second_run_wins_meanwhile(monkeypatch, row.request_id)
    real_save = default_storage.save

    def disk_full_after_the_win(name, content, *args, **kwargs):
        if UpscaleRequest.objects.filter(request_id=row.request_id, status="succeeded").exists():
            raise OSError(28, "No space left on device")
        return real_save(name, content, *args, **kwargs)

    monkeypatch.setattr(default_storage, "save", disk_full_after_the_win)
    monkeypatch.setattr(tasks.time, "sleep", lambda seconds: None)
    tasks.process_upscale(row.request_id)

    row.refresh_from_db()
    assert row.status == "succeeded" and row.purged_at is None
    assert storage.exists(row.result_file), "the paid result was deleted by the run that lost"
    assert customer.refresh().credits == 900


def test_a_result_the_customer_deleted_is_not_brought_back_by_a_late_copy(
        api, v1, customer, no_worker, web_process_dies, monkeypatch) -> None:
    """The losing run passed its last check while the row was still processing, then the winner
    succeeded and the customer deleted the result (DELETE /v1/upscale/{id}) before the loser's
    write landed: the refused run must delete what it wrote, as the row no longer hands it out."""
    row = accept_and_die(api, customer)
    real_save = storage.save
    saved: list[str] = []

    def the_copy_wins_and_the_customer_deletes(name: str, data: bytes) -> str:
        if name.startswith("results/") and not saved:
            saved.append(name)
            copy = real_save(name, data)  # the re-delivered copy's run: saved, then succeeded
            assert lifecycle.succeed(row.request_id, result_file=copy, output_format="PNG", output_bytes=len(data),
                                     width=1, height=1, model=row.model)
            assert lifecycle.deliver(row.request_id)
            response = v1.delete(f"/v1/upscale/{row.request_id}", customer.key)
            assert response.status_code == 200 and not storage.exists(copy)
        return real_save(name, data)  # this run's write lands after the deletion

    monkeypatch.setattr(storage, "save", the_copy_wins_and_the_customer_deletes)
    tasks.process_upscale(row.request_id)

    row.refresh_from_db()
    assert row.status == "succeeded" and row.purged_at is not None
    assert saved and not storage.exists(saved[0]), "the deleted result is back in storage"
