"""Accuracy and seconds of the model-free cases (kind qlearn) at default settings over several seeds, beside
model-based policy iteration on the same problem.

python benchmarks/qlearn_cases.py [--cases qlearn_lqr1d …] [--seeds 0 1 2] [--jobs N] [--out FILE.json]

Per case and seed: transitions, learner seconds, total seconds, status, the gated metrics (gain, value, variance),
J's jackknife standard error, and the model-based gain error and seconds; then the spread (min, max) over the seeds.
Every case runs on one thread; --jobs runs that many at once (seconds are then those of a loaded machine).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from hjb.io.atomic import atomic_write_text
from hjb.validation.runner import run_cases
from hjb.validation.suites import get_suite

KEYS = ("transitions", "learn_seconds", "seconds", "status", "gain_rel_error", "value_rel_l2", "variance_rel_error",
        "value_se", "model_based_gain_rel_error", "model_based_seconds", "passed")


def spread(rows: list[dict], key: str) -> tuple[float, float] | None:
    """(min, max) of a numeric column over the seeds, None when no seed has it."""
    values = [row[key] for row in rows if isinstance(row.get(key), (int, float)) and not isinstance(row[key], bool)]
    return (min(values), max(values)) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    qlearn = [case for case in get_suite("full") if case.kind == "qlearn"]
    parser.add_argument("--cases", nargs="+", default=[case.name for case in qlearn])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/qlearn_cases.json"))
    args = parser.parse_args()
    unknown = sorted(set(args.cases) - {case.name for case in qlearn})
    if unknown:
        parser.error(f"unknown cases {unknown}; valid: {[case.name for case in qlearn]}")
    chosen = [case for case in qlearn if case.name in args.cases]
    table = {}
    for seed in args.seeds:
        for result in run_cases(chosen, seed=seed, progress=False, jobs=args.jobs):
            table.setdefault(result["name"], []).append({"seed": seed, **{key: result.get(key) for key in KEYS}})
    summary = {name: {"seeds": rows, "spread": {key: spread(rows, key) for key in KEYS}} for name, rows in table.items()}
    print(f"{'case':26} {'seed':>4} {'gain err':>9} {'value':>8} {'variance':>9} {'J se':>8} {'learn s':>8} "
          f"{'model-based gain err / s':>25}  status")
    for name, rows in table.items():
        for row in rows:
            fmt = lambda v: "—" if v is None else f"{v:.2e}"  # noqa: E731
            print(f"{name:26} {row['seed']:>4} {fmt(row['gain_rel_error']):>9} {fmt(row['value_rel_l2']):>8} "
                  f"{fmt(row['variance_rel_error']):>9} {fmt(row['value_se']):>8} {row['learn_seconds'] or 0:>8.0f} "
                  f"{fmt(row['model_based_gain_rel_error']):>15} / {row['model_based_seconds']:>6.0f}  {row['status']}")
    atomic_write_text(args.out, json.dumps(summary, indent=1, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
