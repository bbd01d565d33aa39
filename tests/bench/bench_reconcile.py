"""Timing of `tui.reconcile.reconcile` on large inputs (run on demand, not collected by pytest).

    /work/venv/bin/python -m tests.bench.bench_reconcile [--repeat N]

Prints a table and writes `tests/bench/results/reconcile.json`. Inputs are built before
the clock starts; only `reconcile(...)` (and `scope` for one reseller) is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

from tui.evolution.models import Instance, InstanceState, ProbeResult, ProbeState
from tui.reconcile import reconcile, scope
from tui.store.models import ConnectionRecord, Reseller

RESULTS = Path(__file__).parent / "results" / "reconcile.json"
TS0 = 1_761_316_665


def build(n_instances: int, n_records: int, shared: int, *, dupes: int = 0,
          drift: float = 0.05, seed: int = 1):
    """`shared` names are on both sides, the rest are orphans; `dupes` extra records reuse
    names; a `drift` fraction of the records disagree with their instance (status, phone)."""
    rnd = random.Random(seed)
    resellers = [Reseller(id=f"r{i:04d}", name=f"Revenda {i} Ltda") for i in range(1000)]
    bases = [f"revenda{i}"[:10] for i in range(1000)]  # == name_base(reseller.name)
    total = n_instances + n_records - shared
    indexes = list(range(total))
    rnd.shuffle(indexes)
    names = {i: f"{bases[i % 1000]}_{i}_{TS0 + i}" for i in indexes}
    states = {i: rnd.choices(list(InstanceState), weights=(7, 1, 2))[0] for i in indexes}

    def phone(i: int) -> str:
        return f"55119{i:08d}"

    # Objects are built in list order (as a parser or a Mongo cursor would build them); the
    # names come in random order, so the name-ordered output walks memory at random.
    instances = [
        Instance.model_construct(
            name=names[i], id=f"id-{i}", state=states[i],
            owner=f"{phone(i)}@s.whatsapp.net" if states[i] is InstanceState.OPEN else None,
        )
        for i in indexes[:n_instances]
    ]
    records = []
    for k, i in enumerate(indexes[n_instances - shared:n_instances - shared + n_records]):
        is_open = states[i] is InstanceState.OPEN
        drifts = rnd.random() < drift
        records.append(ConnectionRecord.model_construct(
            doc_id=f"d{k:07d}", reseller_id=f"r{i % 1000:04d}", instance_name=names[i],
            phone_number=phone(i + drifts) if is_open else None,
            status="connected" if is_open != drifts else "disconnected",
        ))
    records += [
        ConnectionRecord.model_construct(
            doc_id=f"x{k:07d}", reseller_id=f"r{k % 1000:04d}", instance_name=records[k].instance_name,
        )
        for k in range(dupes)
    ]
    orphan_rec_names = {r.instance_name for r in records} - {i.name for i in instances}
    probes = {
        name: ProbeResult.model_construct(name=name, state=rnd.choice(list(ProbeState)))
        for name in orphan_rec_names
    }
    return instances, records, resellers, probes


SCENARIOS = {
    "100k x 100k, 90% linked": dict(n_instances=100_000, n_records=100_000, shared=90_000),
    "100k x 100k, all linked": dict(n_instances=100_000, n_records=100_000, shared=100_000),
    "100k x 100k, disjoint": dict(n_instances=100_000, n_records=100_000, shared=0),
    "100k x 100k, 90% linked, 1k dup records": dict(
        n_instances=100_000, n_records=100_000, shared=90_000, dupes=1_000
    ),
    "100k x 100k, all linked, all drifting": dict(
        n_instances=100_000, n_records=100_000, shared=100_000, drift=1.0
    ),
}


def time_it(fn, repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and process CPU seconds of `repeat` calls (CPU time is immune to other
    processes competing for the two cores; wall time is what a user waits)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        _ = [[] for _ in range(1000)]  # a garbage collection deferred by `fn` runs here, timed
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        del result  # freeing the previous result is the caller's cost, not timed
    return walls, cpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    results = []
    header = f"{'scenario':42} {'rows':>7} {'wall best':>9} {'wall med':>9} {'cpu best':>9} {'scope':>7}"
    print(header)
    for label, params in SCENARIOS.items():
        instances, records, resellers, probes = build(**params)
        recon = reconcile(instances, records, resellers, probes)
        walls, cpus = time_it(lambda: reconcile(instances, records, resellers, probes), args.repeat)
        scope_walls, _ = time_it(lambda: scope(recon, "r0001"), args.repeat)
        rows = len(recon.linked) + len(recon.orphan_instances) + len(recon.orphan_records)
        row = {
            "scenario": label, **params, "rows": rows,
            "wall_best_s": round(min(walls), 4), "wall_median_s": round(statistics.median(walls), 4),
            "cpu_best_s": round(min(cpus), 4), "scope_wall_best_s": round(min(scope_walls), 4),
            "counts": recon.counts.model_dump(),
        }
        results.append(row)
        print(f"{label:42} {rows:>7} {row['wall_best_s']:>9.3f} {row['wall_median_s']:>9.3f} "
              f"{row['cpu_best_s']:>9.3f} {row['scope_wall_best_s']:>7.3f}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "python": sys.version.split()[0], "platform": platform.platform(),
        "cpus": os.cpu_count(), "load_avg": os.getloadavg(), "repeat": args.repeat,
        "budget_s": 0.5, "results": results,
    }, indent=2) + "\n")
    print(f"load average {os.getloadavg()}; written {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
