"""Load and fault benchmark of the real stack, with an audit of every answer and every credit.

Starts the product as production runs it (tests/devstack/stack.py: ARTNEX_ENV=production, the
Procfile's web, N upscale workers at concurrency 1, housekeeping and beat, on a PostgreSQL
database and a Redis broker and cache of its own, all on loopback), opens a customer with
the operator's create_customer, and runs K client threads with a customer's mix of requests:
synchronous x2 and x4 upscales of 48-96 px PNG and JPEG crops, async jobs polled to their end
(some submitted twice with their Idempotency-Key), and broken requests that must get the
contract's 400s. Meanwhile it kills a worker's pool process mid-job, kills the web's gunicorn
worker under a waiting client, restarts the broker, restarts the cache, kills a whole worker
mid-job (starting a replacement) and restarts PostgreSQL, on a server of the run's own
(bench/load_faults.py).
Once the work has drained, it audits the answers and the ledger (bench/load_audit.py) and
exits 1 if any invariant broke.

    .venv/bin/python bench/load.py                                   # 4 clients, 2 workers, >= 200 requests
    .venv/bin/python bench/load.py --clients 2 --requests 10 --faults pool-kill --json out.json
    .venv/bin/python bench/load.py --duration 300 --faults           # five minutes, no faults

--requests is a floor: the clients go on until the last fault has recovered, so that every
fault meets traffic. Logs, records.json and summary.json are kept in --out. PostgreSQL comes
from ARTNEX_TEST_DATABASE_URL (default postgres@127.0.0.1:5432, the integration tier's), or,
with postgres-restart planned, from a server the run starts as the postgres user (needs root);
redis-server must be installed. The stack's deviations from the production defaults are the
test-sized task time limits (so that a dead worker's job returns within a minute, as
docs/deploy.md describes), one PyTorch thread per worker, and a burst limit that does not
throttle the run; the summary lists them all under "settings".
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from load_audit import audit, configure_django, drain  # noqa: E402
from load_faults import TRIGGERS, Fault, inject  # noqa: E402
from load_report import machine, summary, table  # noqa: E402
from load_traffic import PRICE, Run, client, loopback, make_samples  # noqa: E402

from artnex import integration_env  # noqa: E402
from tests.devstack.postgres_server import private_server  # noqa: E402
from tests.devstack.stack import ServiceStack, StackOptions, running  # noqa: E402

EMAIL = "load@example.com"
PLAN = "business"  # its daily quota (20,000), in-flight (32) and queued (1,000) limits hold the run's traffic


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="upscale workers, concurrency 1 each (default 2)")
    parser.add_argument("--requests", type=int, default=200, help="at least this many requests (default 200)")
    parser.add_argument("--duration", type=float, default=None, help="or at least this many seconds of traffic")
    parser.add_argument("--faults", nargs="*", default=list(TRIGGERS), choices=list(TRIGGERS),
                        help="faults to inject, in order (default: all; none: no argument)")
    parser.add_argument("--redis-down", type=float, default=2.0,
                        help="seconds a restarted Redis server (broker, cache) stays down (default 2)")
    parser.add_argument("--task-time-limit", type=int, default=30,
                        help="ARTNEX_TASK_TIME_LIMIT; the visibility timeout is 15 s more (default 30)")
    parser.add_argument("--wait", type=int, default=300, help="ARTNEX_WAIT_SECONDS (default 300, production's)")
    parser.add_argument("--model", default="realesr-animevideov3", help="ARTNEX_DEFAULT_MODEL")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="ARTNEX_MODEL_DIR (default: the environment's, else ../shared/models)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="folder for logs and summary (default var/load/<time>)")
    parser.add_argument("--json", type=Path, default=None, help="also write the summary here")
    return parser.parse_args(argv)


def stack_settings(args: argparse.Namespace) -> dict[str, str]:
    """The environment over production's defaults; reported in the summary."""
    return {
        "ARTNEX_DEFAULT_MODEL": args.model,
        # N workers share the machine's cores: one PyTorch thread each avoids oversubscription.
        "ARTNEX_THREADS": "1",
        "ARTNEX_WAIT_SECONDS": str(args.wait),
        # A dead worker's job returns after the visibility timeout (production: time limit + 60 s,
        # 450 s): test-sized limits bring it back within the run.
        "ARTNEX_TASK_SOFT_TIME_LIMIT": str(max(1, args.task_time_limit - 5)),
        "ARTNEX_TASK_TIME_LIMIT": str(args.task_time_limit),
        "ARTNEX_BROKER_VISIBILITY_TIMEOUT": str(args.task_time_limit + 15),
        # One key sends everything: the per-key burst limit (120/min) would otherwise answer 429s.
        "ARTNEX_BURST_RATE": "100000/m",
    }


def model_dir(args: argparse.Namespace) -> Path:
    return args.model_dir or Path(os.environ.get("ARTNEX_MODEL_DIR") or REPO.parent / "shared" / "models")


def _account_id() -> int:
    from django.db import connection

    from accounts.models import Account

    found = int(Account.objects.values_list("pk", flat=True).get(user__email=EMAIL))
    connection.close()  # not held through the run: a database restart would leave it broken
    return found


def drive(args: argparse.Namespace, stack: ServiceStack) -> dict[str, Any]:
    """Traffic and faults, the drain, the audit: the run's figures."""
    key = stack.create_customer(EMAIL, credits=PRICE * 100_000, plan=PLAN)
    configure_django(stack.env)
    account_id = _account_id()
    run = Run(stack.url, key, float(args.wait))
    samples = make_samples(random.Random(args.seed), 24)
    plan = [Fault(name) for name in args.faults]
    faults_done = threading.Event()

    def progress() -> float:
        by_time = run.now() / args.duration if args.duration else 0.0
        return max(run.issued / args.requests if args.requests else 0.0, by_time)

    threads = [threading.Thread(target=inject, name="faults", daemon=True,
                                args=(run, stack, plan, progress, account_id, args.redis_down, faults_done))]
    threads += [threading.Thread(target=client, name=f"client{i}", args=(run, i, args.seed, samples))
                for i in range(args.clients)]
    for thread in threads:
        thread.start()
    while not (faults_done.is_set() and progress() >= 1.0):
        time.sleep(0.1)
    run.stop.set()
    for thread in threads:
        thread.join()
    traffic_s = run.now()
    drain_s = drain(account_id, bound_s=2 * (args.task_time_limit + 15) + 60)
    checks = audit(run.records, plan, account_id)
    (args.out / "records.json").write_text(json.dumps([r.as_dict() for r in run.records], indent=1))
    return summary(run.records, plan, checks, traffic_s, drain_s)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    args.out = args.out or REPO / "var" / "load" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    settings = stack_settings(args)
    load_before = [round(x, 2) for x in os.getloadavg()]
    # The stack's own services listen on 127.0.0.1; PostgreSQL must be there too.
    database_server = loopback(integration_env.service_url("DATABASE_URL"))
    with ExitStack() as cleanup:
        private = None
        if "postgres-restart" in args.faults:  # never stop the machine's shared server
            private = cleanup.enter_context(private_server())
            database_server = private.url
        options = StackOptions(args.out, model_dir(args), database_server, args.workers, settings, private)
        with running(options) as stack:
            result = drive(args, stack)
            from django.db import connections

            connections.close_all()  # before the stack's database is dropped
    result = {"config": {k: str(v) for k, v in vars(args).items()}, "settings": settings, "machine": machine(),
              "load_before": load_before, "load_after": [round(x, 2) for x in os.getloadavg()], **result}
    text = json.dumps(result, indent=1)
    (args.out / "summary.json").write_text(text)
    if args.json:
        args.json.write_text(text)
    print(text)
    print(table(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
