"""The invariants bench/load.py checks once the run has drained, from the stack's database (read
through the product's own models) and from what the clients were answered.

Money: every balance change is a ledger row; the balance moved by exactly the price of the
results the clients received; a request is charged only if its result was handed out, and a
failed one nets zero. Answers: each kept the contract, every 5xx is one the contract documents
for the fault it overlapped. State: nothing is left queued or processing.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from load_faults import Fault
from load_traffic import NO_ANSWER, PRICE, Record

# The 5xx each fault may cause, by the contract (docs/api.md): a queue that cannot take the
# job; a job whose worker died (its waiter gave up, or it killed a worker twice).
FAULT_5XX = {
    "broker-restart": {"service_unavailable"},
    "cache-restart": {"service_unavailable"},
    "pool-kill": {"upscale_timeout", "processing_failed"},
    "worker-kill": {"upscale_timeout", "processing_failed"},
    "web-kill": {"upscale_timeout", "processing_failed"},
    "postgres-restart": {"service_unavailable"},
}
_UNFINISHED = ("queued", "processing")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


def configure_django(env: Mapping[str, str]) -> None:
    """This process reads the stack's database through the product's models, as its processes do."""
    os.environ.update(env)
    import django

    django.setup()


def unfinished(account_id: int) -> int:
    from upscale.models import UpscaleRequest

    return UpscaleRequest.objects.filter(account_id=account_id, status__in=_UNFINISHED).count()


def drain(account_id: int, bound_s: float) -> float:
    """Wait until no request of the account is queued or processing; the seconds it took."""
    started = time.monotonic()
    while unfinished(account_id) and time.monotonic() - started < bound_s:
        time.sleep(0.5)
    return time.monotonic() - started


def overlaps(record: Record, fault: Fault) -> bool:
    """The request ran while the fault lasted (from the kill or the stop to the recovery)."""
    return fault.started > 0 and record.started <= fault.recovered and record.ended >= fault.started


def five_hundreds(records: list[Record], faults: list[Fault]) -> list[dict[str, Any]]:
    """Every 5xx answer, with the fault it overlapped whose contract allows its code (or none)."""
    found = []
    for record in records:
        if record.status >= 500:
            cause = next((f.name for f in faults if overlaps(record, f) and record.code in FAULT_5XX[f.name]), "")
            found.append({"at": round(record.started, 2), "status": record.status, "code": record.code,
                          "kind": record.kind, "request_id": record.request_id, "fault": cause})
    return found


def _ledger(account_id: int) -> tuple[int, dict[str, list[tuple[str, int]]]]:
    """The account's opening credits (entries of no request) and each request's entries."""
    from billing.models import LedgerEntry

    opening, per_request = 0, defaultdict(list)
    for request_id, kind, amount in LedgerEntry.objects.filter(account_id=account_id).values_list(
            "request_id", "kind", "amount"):
        if request_id:
            per_request[request_id].append((kind, amount))
        else:
            opening += amount
    return opening, per_request


def _rows(account_id: int) -> dict[str, tuple[str, int]]:
    from upscale.models import UpscaleRequest

    return {request_id: (status, charged) for request_id, status, charged in
            UpscaleRequest.objects.filter(account_id=account_id).values_list(
                "request_id", "status", "credits_charged")}


def _net(per_request: Mapping[str, list[tuple[str, int]]], request_id: str) -> int:
    return sum(amount for _, amount in per_request.get(request_id, []))


def _check(name: str, problems: Iterable[str], detail: str = "") -> Check:
    listed = list(problems)
    shown = "; ".join(listed[:8]) + (f"; ... {len(listed) - 8} more" if len(listed) > 8 else "")
    return Check(name, not listed, shown or detail)


def cut_off(records: list[Record], faults: list[Fault]) -> list[Record]:
    """Tries left without an answer because the web process died under them: the connection
    drops with the process, and the client retries (the next check holds it to that)."""
    kills = [fault for fault in faults if fault.name == "web-kill"]
    return [r for r in records if r.problem == NO_ANSWER and any(overlaps(r, kill) for kill in kills)]


def _unanswered_retries(records: list[Record], dropped: list[Record]) -> list[str]:
    """Requests a web kill cut off whose last try (with the same Idempotency-Key) got no
    answer the contract allows. A broken request has no key and is not retried: nothing was
    charged, and its 400 would be the same."""
    last: dict[str, Record] = {}
    for record in records:
        if record.key and (record.key not in last or record.attempt > last[record.key].attempt):
            last[record.key] = record
    return [f"{r.kind} {r.detail} key {r.key}: last try {last[r.key].status} {last[r.key].problem}"
            for r in dropped if r.key and (not last[r.key].status or last[r.key].problem)]


def answer_checks(records: list[Record], faults: list[Fault]) -> list[Check]:
    fives = five_hundreds(records, faults)
    delivered = [r for r in records if r.status == 200 or r.outcome == "succeeded"]
    dropped = cut_off(records, faults)
    return [
        _check("every answer kept the contract",
               (f"{r.kind} {r.detail} {r.request_id or '-'}: {r.problem}" for r in records
                if r.problem and r not in dropped),
               f"{len(records)} answers checked, {len(dropped)} cut off by a web kill"),
        _check("every request a web kill cut off was answered on a retry with its key",
               _unanswered_retries(records, dropped), f"{len(dropped)} tries cut off, each answered on retry"),
        _check("every 5xx is documented for the fault it overlapped",
               (f"{f['status']} {f['code']} at {f['at']} s ({f['request_id']})" for f in fives if not f["fault"]),
               f"{len(fives)} 5xx, each during a fault that explains it"),
        _check("every result link downloads the right image",
               (f"{r.request_id}: {r.problem}" for r in delivered if not r.delivered),
               f"{len(delivered)} results downloaded and checked"),
    ]


def _not_net_zero(rows: Mapping[str, tuple[str, int]], per_request: Mapping[str, list[tuple[str, int]]]) -> list[str]:
    """Failed requests that kept credits, and requests charged or refunded more than once."""
    kept = [f"{rid} failed: credits_charged {charged}, ledger {_net(per_request, rid)}"
            for rid, (status, charged) in rows.items() if status == "failed" and (charged or _net(per_request, rid))]
    repeated = [f"{rid}: {entries}" for rid, entries in per_request.items()
                if max(sum(1 for k, _ in entries if k == kind) for kind in ("charge", "refund")) > 1]
    return kept + repeated


def _charged_not_delivered(rows: Mapping[str, tuple[str, int]], charged: set[str], delivered: set[str]) -> list[str]:
    return [*(f"{rid} charged, not delivered" for rid in sorted(charged - delivered)),
            *(f"{rid} delivered, not charged" for rid in sorted(delivered - charged)),
            *(f"{rid} succeeded, not delivered" for rid, (status, _) in rows.items()
              if status == "succeeded" and rid not in delivered)]


def money_checks(records: list[Record], account_id: int) -> list[Check]:
    from accounts.models import Account
    from billing import ledger

    balance, kept = Account.objects.get(pk=account_id).credits, ledger.ledger_balance(account_id)
    opening, per_request = _ledger(account_id)
    rows = _rows(account_id)
    delivered = {r.request_id for r in records if r.delivered}
    charged = {rid for rid in per_request if _net(per_request, rid) == -PRICE}
    refused = {r.request_id for r in records if 400 <= r.status < 500}
    moved, price = opening - balance, PRICE * len(delivered)
    return [
        _check("every balance change is a ledger row",
               [f"balance {balance} != ledger {kept}"] if balance != kept else [], f"balance {balance} = ledger"),
        _check("the balance moved by the price of the results delivered",
               [f"{opening} - {balance} != {PRICE} x {len(delivered)}"] if moved != price else [],
               f"{opening} - {balance} = {PRICE} x {len(delivered)} results"),
        _check("charged exactly the requests whose result was delivered",
               _charged_not_delivered(rows, charged, delivered),
               f"{len(charged)} charged = {len(delivered)} delivered"),
        _check("failed requests net zero, charged and refunded at most once", _not_net_zero(rows, per_request),
               f"{sum(1 for s, _ in rows.values() if s == 'failed')} failed, each refunded"),
        _check("refused requests left no row and no charge",
               (rid for rid in sorted(refused) if rid in rows or rid in per_request), f"{len(refused)} refused"),
        _check("every request in the database was answered to a client",
               sorted(set(rows) - {r.request_id for r in records}), f"{len(rows)} rows"),
    ]


def _keys_in_progress(account_id: int) -> list[str]:
    """Idempotency-Keys still held by a first request that never answered: a retry with one
    waits ARTNEX_WAIT_SECONDS and gets 409."""
    from upscale.idempotency.models import IdempotencyRecord

    held = IdempotencyRecord.objects.filter(account_id=account_id, response_status__isnull=True)
    return [f"{key} in progress since {created:%H:%M:%S}" for key, created in held.values_list("key", "created_at")]


def state_checks(account_id: int, faults: list[Fault]) -> list[Check]:
    left = unfinished(account_id)
    return [
        _check("no request left queued or processing", [f"{left} unfinished"] if left else [], "all terminal"),
        _check("no Idempotency-Key left in progress", _keys_in_progress(account_id), "every key answered or free"),
        _check("every fault happened as planned",
               [*(f"{f.name}: {f.error}" for f in faults if f.error),
                *(f"{f.name}: the kill missed the job" for f in faults if f.mid_job is False)],
               ", ".join(f.name for f in faults) or "no faults planned"),
    ]


def audit(records: list[Record], faults: list[Fault], account_id: int) -> list[Check]:
    return [*answer_checks(records, faults), *money_checks(records, account_id), *state_checks(account_id, faults)]
