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


def build(n_instances: int, n_records: int, shared: int, *, dupes: int = 0, seed: int = 1):
    """`shared` names are on both sides; the rest are orphans; `dupes` extra records reuse names."""
    rnd = random.Random(seed)
    resellers = [Reseller(id=f"r{i:04d}", name=f"Revenda {i} Ltda") for i in range(1000)]
    bases = [f"revenda{i}"[:10] for i in range(1000)]  # == name_base(reseller.name)
    total = n_instances + n_records - shared
    names = [f"{bases[i % 1000]}_{i}_{TS0 + i}" for i in range(total)]
    rnd.shuffle(names)
    inst_names = names[:n_instances]
    rec_names = names[n_instances - shared:n_instances - shared + n_records]
    states = list(InstanceState)
    instances = [
        Instance.model_construct(
            name=name, id=f"id-{k}", state=rnd.choice(states),
            owner=f"55119{k:08d}@s.whatsapp.net",
        )
        for k, name in enumerate(inst_names)
    ]
    statuses = ["connected", "disconnected", "open", None, "pending"]
    records = [
        ConnectionRecord.model_construct(
            doc_id=f"d{k:07d}", reseller_id=f"r{int(name.split('_')[1]) % 1000:04d}",
            instance_name=name, phone_number=f"55119{k:08d}" if k % 2 else None,
            status=rnd.choice(statuses),
        )
        for k, name in enumerate(rec_names)
    ]
    records += [
        ConnectionRecord.model_construct(
            doc_id=f"x{k:07d}", reseller_id=f"r{k % 1000:04d}", instance_name=rec_names[k],
        )
        for k in range(dupes)
    ]
    rnd.shuffle(instances)
    rnd.shuffle(records)
    probe_states = list(ProbeState)
    orphan_rec_names = set(rec_names) - set(inst_names)
    probes = {
        name: ProbeResult.model_construct(name=name, state=rnd.choice(probe_states))
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
}


def time_it(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    results = []
    print(f"{'scenario':44} {'rows':>7} {'best s':>8} {'median s':>9} {'scope s':>8}")
    for label, params in SCENARIOS.items():
        instances, records, resellers, probes = build(**params)
        recon = reconcile(instances, records, resellers, probes)
        runs = time_it(lambda: reconcile(instances, records, resellers, probes), args.repeat)
        scope_runs = time_it(lambda: scope(recon, "r0001"), args.repeat)
        rows = len(recon.linked) + len(recon.orphan_instances) + len(recon.orphan_records)
        row = {
            "scenario": label, **params, "rows": rows,
            "best_s": round(min(runs), 4), "median_s": round(statistics.median(runs), 4),
            "scope_best_s": round(min(scope_runs), 4), "counts": recon.counts.model_dump(),
        }
        results.append(row)
        print(f"{label:44} {rows:>7} {row['best_s']:>8.3f} {row['median_s']:>9.3f} "
              f"{row['scope_best_s']:>8.3f}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "python": sys.version.split()[0], "platform": platform.platform(),
        "cpus": os.cpu_count(), "repeat": args.repeat, "budget_s": 0.5, "results": results,
    }, indent=2) + "\n")
    print(f"written {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
