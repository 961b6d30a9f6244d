"""Seconds per policy-iteration step and peak memory against the dimension d, for an LQR family at a fixed
collocation count, and the slope of log time against log d for d ≥ 10.

Families (--family): `banded` (default; hjb.pdes.lqr.banded_lqr: neighbour-coupled A and Q, 2 controls, 4 noise
columns), whose coefficients cost O(d) per point, so that the table measures the solver; and `coupled`
(hjb.pdes.lqr.coupled_lqr: dense A, Q and D with d noise columns), whose own f, r and ΣΔW cost O(d²) per point.

Each (d, seed) runs in its own process (one torch thread), so that its peak resident memory is its own. The work per
iteration is fixed, so that the time measures the cost of a step and not how soon a fit stops: `--adam` Adam steps
per evaluation, no L-BFGS and no anchored phase, anchors of exactly `anchor_paths` paths. Everything else is the
solver's default path for that d (above 3-D: fresh collocation points every step, curvature along Σ's columns or,
above 16 columns, paired Hutchinson estimates; diagnostics on the probe set).

    python benchmarks/scaling.py                       # banded, d = 2 … 1000, 3 seeds, a table
    python benchmarks/scaling.py --family coupled --dims 2,10,100 --seeds 1 --json out.json
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DIMS = (2, 5, 10, 20, 50, 100, 200, 500, 1000)


FAMILIES = ("banded", "coupled")


def one(d: int, seed: int, adam: int, family: str = "banded") -> dict:
    """Solve the family's LQR in d dimensions for 2 fixed-work PI iterations; seconds per iteration and this
    process's peak memory."""
    import torch

    torch.set_num_threads(1)
    from hjb.pdes.lqr import banded_lqr, coupled_lqr
    from hjb.settings import SolverSettings
    from hjb.solvers.discounted import solve

    settings = SolverSettings(seed=seed, max_iterations=2, min_iterations=2, adam_steps_first=adam, adam_steps=adam,
                              pde_lbfgs_steps=0, lbfgs_steps=0, anchored_adam_steps=0, restarts=0,
                              anchor_paths=64, anchor_max_paths=64)
    problem = (banded_lqr if family == "banded" else coupled_lqr)(d)
    start = time.perf_counter()
    solution = solve(problem, settings, progress=False)
    total = time.perf_counter() - start
    per_iteration = [h["seconds"] for h in solution.history]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"family": family, "d": d, "seed": seed, "seconds_per_iteration": float(np.mean(per_iteration)),
            "seconds": total,
            "peak_memory_mb": peak_mb, "collocation": settings.collocation, "adam_steps": adam}


def run(dims, seeds: int, adam: int, family: str) -> list[dict]:
    """one(d, seed, adam, family) in a child process for every d and seed."""
    rows = []
    for d in dims:
        for seed in range(seeds):
            out = subprocess.run([sys.executable, __file__, "--one", str(d), str(seed), "--adam", str(adam),
                                  "--family", family],
                                 capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"d={d} seed={seed}: {rows[-1]['seconds_per_iteration']:.2f} s/iteration, "
                  f"{rows[-1]['peak_memory_mb']:.0f} MB", file=sys.stderr)
    return rows


def summary(rows: list[dict]) -> dict:
    """Per d: mean and spread (min–max) over seeds; the least-squares slope of log time on log d for d ≥ 10."""
    table = {}
    for d in sorted({r["d"] for r in rows}):
        t = [r["seconds_per_iteration"] for r in rows if r["d"] == d]
        m = [r["peak_memory_mb"] for r in rows if r["d"] == d]
        table[d] = {"seconds_per_iteration": float(np.mean(t)), "min": min(t), "max": max(t),
                    "peak_memory_mb": float(np.mean(m))}
    high = [d for d in table if d >= 10]
    slope = None
    if len(high) >= 2:
        slope = float(np.polyfit(np.log(high), np.log([table[d]["seconds_per_iteration"] for d in high]), 1)[0])
    return {"table": table, "slope_d_ge_10": slope}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", default=",".join(map(str, DIMS)))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--adam", type=int, default=200, help="Adam steps per evaluation (fixed work)")
    parser.add_argument("--family", default="banded", choices=FAMILIES)
    parser.add_argument("--json", help="also write rows and summary to this file")
    parser.add_argument("--one", nargs=2, type=int, metavar=("D", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one, args.adam, args.family)))
        return
    rows = run([int(d) for d in args.dims.split(",")], args.seeds, args.adam, args.family)
    result = summary(rows)
    print(f"{'d':>6} {'s/iteration':>12} {'spread':>16} {'peak MB':>9}")
    for d, r in result["table"].items():
        print(f"{d:>6} {r['seconds_per_iteration']:>12.2f} {r['min']:>7.2f}–{r['max']:<8.2f} {r['peak_memory_mb']:>9.0f}")
    print(f"slope of log time on log d for d ≥ 10: {result['slope_d_ge_10']}")
    if args.json:
        from hjb.io.atomic import atomic_write_text

        atomic_write_text(Path(args.json), json.dumps({"family": args.family, "adam_steps": args.adam, "rows": rows,
                                                       **result}, indent=1))


if __name__ == "__main__":
    main()
