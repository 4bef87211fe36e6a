"""The figures of a bench/load.py run: the JSON summary and the table a person reads."""

from __future__ import annotations

import math
import os
import platform
from collections import Counter
from typing import Any

from host import cpu_model
from load_audit import Check, five_hundreds, overlaps
from load_faults import Fault
from load_traffic import Record


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..100): a value that was measured."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share / 100 * len(ordered)) - 1)]


def _spread(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    return {"n": len(values), **{f"p{p}": round(percentile(values, p), 3) for p in (50, 95, 99)},
            "max": round(max(values), 3)}


def latencies(records: list[Record]) -> dict[str, dict[str, float | int]]:
    """Seconds per kind: a synchronous answer; an async job's 202 and its end (the poll that saw
    it finish); a refused request. Fault victims apart, they are the faults' own figures."""
    def of(kind: str) -> list[Record]:
        return [r for r in records if r.kind == kind and r.status]

    return {
        "sync x2": _spread([r.answered - r.started for r in of("sync-x2")]),
        "sync x4": _spread([r.answered - r.started for r in of("sync-x4")]),
        "async 202": _spread([r.answered - r.started for r in of("async")]),
        "async end-to-end": _spread([r.ended - r.started for r in of("async") if r.outcome]),
        "bad input": _spread([r.answered - r.started for r in of("bad-input")]),
        "fault victims": _spread([r.answered - r.started for r in records if r.kind.startswith("victim:")]),
    }


def answers(records: list[Record]) -> dict[str, int]:
    counted = Counter(f"{r.status} {r.code}".strip() if r.status else "no answer" for r in records)
    return dict(sorted(counted.items()))


def during(records: list[Record], fault: Fault) -> dict[str, int]:
    """What the requests that ran while the fault lasted (from the kill or stop to recovery)
    were answered; a kill's victim is among them, and so is all other traffic of the time."""
    meanwhile = [r for r in records if overlaps(r, fault)]
    return answers(meanwhile) | {f"async {outcome}": n for outcome, n in
                                 Counter(r.outcome for r in meanwhile if r.outcome).items()}


def machine() -> dict[str, Any]:
    cpu = cpu_model()
    return {"cpu": cpu, "cpus": os.cpu_count(), "python": platform.python_version()}


def summary(records: list[Record], faults: list[Fault], checks: list[Check], traffic_s: float,
            drain_s: float) -> dict[str, Any]:
    delivered = {r.request_id for r in records if r.delivered}
    posts = [r for r in records if r.status]
    return {
        "traffic_s": round(traffic_s, 1), "drain_s": round(drain_s, 1),
        "requests": len(records), "requests_per_s": round(len(posts) / traffic_s, 2),
        "results": len(delivered), "results_per_s": round(len(delivered) / traffic_s, 2),
        "latency_s": latencies(records),
        "answers": answers(records),
        "async_outcomes": dict(Counter(r.outcome for r in records if r.kind == "async" and r.outcome)),
        "retries": sum(1 for r in records if r.attempt > 1),
        "five_hundreds": five_hundreds(records, faults),
        "faults": [fault.as_dict() | {"answers_during": during(records, fault)} for fault in faults],
        "audit": [check.as_dict() for check in checks],
        "ok": all(check.ok for check in checks),
    }


def table(result: dict[str, Any]) -> str:
    """The summary as text: throughput, latencies, answers, faults, audit."""
    lines = [f"{result['requests']} requests in {result['traffic_s']} s: {result['requests_per_s']} requests/s, "
             f"{result['results']} results ({result['results_per_s']}/s); drained in {result['drain_s']} s; "
             f"load average {result['load_before']} before, {result['load_after']} after",
             "", f"{'latency (s)':18s} {'n':>5s} {'p50':>8s} {'p95':>8s} {'p99':>8s} {'max':>8s}"]
    for kind, spread in result["latency_s"].items():
        cells = " ".join(f"{spread[k]:8.3f}" for k in ("p50", "p95", "p99", "max")) if spread["n"] else ""
        lines.append(f"{kind:18s} {spread['n']:5d} {cells}")
    lines += ["", "answers: " + ", ".join(f"{key}: {n}" for key, n in result["answers"].items()),
              "async jobs: " + ", ".join(f"{key}: {n}" for key, n in result["async_outcomes"].items()),
              f"retries: {result['retries']}"]
    for five in result["five_hundreds"]:
        lines.append(f"  5xx at {five['at']} s: {five['status']} {five['code']} ({five['kind']}, "
                     f"{five['request_id']}) during {five['fault'] or 'NO FAULT'}")
    for fault in result["faults"]:
        lines += ["", f"fault {fault['name']}: {fault['started']} s -> recovered {fault['recovered']} s; "
                  f"answers meanwhile: {fault['answers_during']}"]
        lines += [f"  {at:7.2f} s  {what}" for at, what in fault["events"]]
    lines += ["", "audit:"] + [f"  {'ok  ' if c['ok'] else 'FAIL'} {c['name']}: {c['detail']}"
                               for c in result["audit"]]
    return "\n".join(lines)
