"""The faults bench/load.py injects while its clients run, and what each did to its victim.

- ``pool-kill``: SIGKILL to the pool process of a worker running an upscale (what the OOM
  killer does). Celery rejects the lost job back onto the queue and starts a new pool process.
- ``worker-kill``: SIGKILL to a whole worker, main process and pool at once (a host lost), and
  a replacement worker started. The job comes back after the broker's visibility timeout.
- ``broker-restart``: the broker (the stack's own redis-server) stopped with SIGTERM, left down
  a moment, started again on its data.
- ``cache-restart``: the same for the shared cache (rate-limit counters, in-flight slots,
  re-delivery counts), which comes back empty.
- ``postgres-restart``: the database stopped (fast shutdown: every session cut off), left down
  a moment, started again. Only on a PostgreSQL server of the stack's own (tests/devstack/
  postgres_server.py), which bench/load.py starts when this fault is planned.
- ``web-kill``: SIGKILL to the web process (gunicorn's worker: the Procfile's gunicorn master
  respawns it, as it would in production) while clients wait for synchronous answers. Every
  open connection drops; the clients retry with their Idempotency-Key.

A kill needs a job running: the injector sends its own synchronous upscale of a bigger image
(the victim), waits until a worker's log says it started, and kills that worker at once. The
victim's request is found in the database by its size, which no other request has.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from load_traffic import Record, Run, large_sample, sync_upscale

from tests.devstack import processes
from tests.devstack.stack import ServiceStack

# When each fault starts, as a share of the run's progress (requests sent, or time).
TRIGGERS = {"pool-kill": 0.2, "web-kill": 0.3, "broker-restart": 0.4, "cache-restart": 0.55, "worker-kill": 0.7,
            "postgres-restart": 0.85}
VICTIM_SIZES = {"pool-kill": (384, 384), "worker-kill": (384, 320), "web-kill": (352, 352)}
_BOUND_S = 180.0  # a guard against a hang, not a measurement


@dataclass
class Fault:
    name: str
    started: float = 0.0
    recovered: float = 0.0
    events: list[tuple[float, str]] = field(default_factory=list)
    victim: list[Record] = field(default_factory=list)  # the victim's tries (a retry after a 5xx)
    error: str = ""  # why the fault could not be injected as planned
    mid_job: bool | None = None  # for a kill: the victim's row was still processing when it landed
    redelivered_to: list[str] = field(default_factory=list)  # workers that logged taking the job over

    def note(self, run: Run, what: str) -> None:
        self.events.append((round(run.now(), 2), what))

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "started": round(self.started, 2), "recovered": round(self.recovered, 2),
                "events": self.events, "victim": [record.as_dict() for record in self.victim],
                "mid_job": self.mid_job, "redelivered_to": self.redelivered_to, "error": self.error}


def _until(check: Callable[[], Any], what: str, bound_s: float = _BOUND_S) -> Any:
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise TimeoutError(what)


def _victim_request_id(account_id: int, size: tuple[int, int]) -> str:
    from upscale.models import UpscaleRequest

    rows = UpscaleRequest.objects.filter(account_id=account_id, input_width=size[0], input_height=size[1])
    return str(_until(lambda: rows.values_list("request_id", flat=True).first(), f"no request of size {size}"))


def _status(request_id: str) -> str:
    from upscale.models import UpscaleRequest

    return str(UpscaleRequest.objects.values_list("status", flat=True).get(request_id=request_id))


def _send_victim(run: Run, fault: Fault) -> threading.Thread:
    sample = large_sample(VICTIM_SIZES[fault.name])

    def send() -> None:
        records = sync_upscale(run, -1, sample, 4, f"victim:{fault.name}")
        for record in records:
            run.add(record)
        fault.victim = records

    thread = threading.Thread(target=send, name=f"victim-{fault.name}", daemon=True)
    thread.start()
    return thread


def _catch_running(run: Run, stack: ServiceStack, fault: Fault, account_id: int) -> tuple[str, processes.Process]:
    request_id = _victim_request_id(account_id, VICTIM_SIZES[fault.name])
    worker: processes.Process = _until(lambda: stack.worker_running(request_id), f"no worker started {request_id}")
    fault.note(run, f"{worker.name} started the victim {request_id}")
    return request_id, worker


def _follow_victim(run: Run, stack: ServiceStack, fault: Fault, request_id: str, sender: threading.Thread) -> None:
    """Until the victim's client has its answer, watch the workers' logs for the take-over; then
    the fault is over."""
    deadline = time.monotonic() + run.wait_s + _BOUND_S
    while sender.is_alive() and time.monotonic() < deadline:
        for worker in stack.workers:
            if worker.name not in fault.redelivered_to and f"upscale {request_id} re-delivered" in worker.text():
                fault.redelivered_to.append(worker.name)
                fault.note(run, f"{worker.name} took the re-delivered victim over")
        time.sleep(0.1)
    sender.join(timeout=1)
    answers = [f"{record.status} {record.code}".strip() for record in fault.victim]
    fault.note(run, f"the victim's client got {', then '.join(answers) or 'no answer yet'}")
    fault.recovered = run.now()


def _landed(run: Run, fault: Fault, request_id: str, what: str) -> None:
    """Note a kill the moment it is done, and whether it caught the victim still running."""
    fault.started = run.now()
    status = _status(request_id)
    fault.mid_job = status == "processing"
    fault.note(run, f"{what} (victim {status})")


def pool_kill(run: Run, stack: ServiceStack, fault: Fault, account_id: int) -> None:
    sender = _send_victim(run, fault)
    request_id, worker = _catch_running(run, stack, fault, account_id)
    pool = processes.children(worker.pid)
    for pid in pool:
        os.kill(pid, signal.SIGKILL)
    _landed(run, fault, request_id, f"SIGKILL to {worker.name}'s pool process {pool}")
    replacement = _until(lambda: [pid for pid in processes.children(worker.pid) if pid not in pool],
                         f"{worker.name} started no new pool process")
    fault.note(run, f"{worker.name} started a new pool process {replacement}")
    _follow_victim(run, stack, fault, request_id, sender)


def worker_kill(run: Run, stack: ServiceStack, fault: Fault, account_id: int) -> None:
    sender = _send_victim(run, fault)
    request_id, worker = _catch_running(run, stack, fault, account_id)
    killed = worker.kill_outright()
    _landed(run, fault, request_id, f"SIGKILL to {worker.name} (pids {killed})")
    replacement = stack.add_worker()
    fault.note(run, f"{replacement.name} started and ready")
    _follow_victim(run, stack, fault, request_id, sender)


def web_kill(run: Run, stack: ServiceStack, fault: Fault, account_id: int) -> None:
    """The victim is caught while a worker runs it, so its client is waiting on the web process."""
    sender = _send_victim(run, fault)
    request_id, _ = _catch_running(run, stack, fault, account_id)
    killed = stack.kill_web_workers()
    _landed(run, fault, request_id, f"SIGKILL to the web's gunicorn worker {killed}")
    respawned = _until(lambda: [pid for pid in stack.web_workers() if pid not in killed],
                       "gunicorn never started a new worker")
    fault.note(run, f"gunicorn's master started a new worker {respawned}")
    _until(stack.web_answers, "the new web worker never answered /readyz")
    fault.note(run, "the web answers /readyz again")
    _follow_victim(run, stack, fault, request_id, sender)


def _connections(process: processes.Process) -> int:
    """How often a Celery process has connected to its broker (Celery logs each connection)."""
    return process.text().count("Connected to redis://")


def _reconnected(process: processes.Process, connections: int) -> Callable[[], bool]:
    return lambda: _connections(process) > connections


def broker_restart(run: Run, stack: ServiceStack, fault: Fault, down_s: float) -> None:
    consumers = [*stack.workers, *(p for p in stack.services if p.name == "housekeeping")]
    before = {process.name: _connections(process) for process in consumers}
    fault.started = run.now()
    fault.note(run, "SIGTERM to the broker")
    stack.restart_broker(down_s)
    fault.note(run, f"broker back after {down_s:g} s down")
    for process in consumers:
        if process.popen.poll() is None:  # a worker killed by an earlier fault has no one to reconnect
            _until(_reconnected(process, before[process.name]), f"{process.name} never reconnected")
            fault.note(run, f"{process.name} reconnected")
    fault.recovered = run.now()


def postgres_restart(run: Run, stack: ServiceStack, fault: Fault, down_s: float) -> None:
    from django.db import connection

    connection.close()  # this thread's, while it still works: the restart cuts every session
    fault.started = run.now()
    fault.note(run, "fast shutdown of PostgreSQL")
    stack.restart_database(down_s)
    fault.note(run, f"PostgreSQL back after {down_s:g} s down")
    _until(stack.web_answers, "the web never answered /readyz again")
    fault.note(run, "the web answers /readyz again")
    fault.recovered = run.now()


def cache_restart(run: Run, stack: ServiceStack, fault: Fault, down_s: float) -> None:
    fault.started = run.now()
    fault.note(run, "SIGTERM to the cache")
    stack.restart_cache(down_s)
    fault.note(run, f"cache back (empty) after {down_s:g} s down")
    fault.recovered = run.now()


def inject(run: Run, stack: ServiceStack, plan: list[Fault], progress: Callable[[], float], account_id: int,
           broker_down_s: float, done: threading.Event) -> None:
    """The fault thread: each fault of ``plan`` once the run has got to its trigger."""
    try:
        for fault in plan:
            trigger = TRIGGERS[fault.name]
            _until(lambda: progress() >= trigger, "never triggered", 1e9)  # noqa: B023 - waited for at once
            fault.note(run, f"{fault.name} triggered")
            try:
                if fault.name == "pool-kill":
                    pool_kill(run, stack, fault, account_id)
                elif fault.name == "worker-kill":
                    worker_kill(run, stack, fault, account_id)
                elif fault.name == "web-kill":
                    web_kill(run, stack, fault, account_id)
                elif fault.name == "postgres-restart":
                    postgres_restart(run, stack, fault, broker_down_s)
                elif fault.name == "cache-restart":
                    cache_restart(run, stack, fault, broker_down_s)
                else:
                    broker_restart(run, stack, fault, broker_down_s)
            except (TimeoutError, OSError, processes.ProcessFailed) as exc:
                fault.error = f"{type(exc).__name__}: {exc}"
                fault.note(run, f"{fault.name} could not be completed: {fault.error}")
    finally:
        from django.db import connection

        connection.close()  # this thread's: the stack's database is dropped after the run
        done.set()
