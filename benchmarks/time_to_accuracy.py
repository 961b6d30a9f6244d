"""Error against wall time in low dimension: hjb at its default settings, measured after every policy-iteration
step, beside plain DeepXDE at a few step budgets, on the quick suite's lqr1d and merton.

python benchmarks/time_to_accuracy.py [--cases lqr1d merton] [--seeds 0 1 2] [--out FILE]

Targets (issue 12, one thread): lqr1d value rel L2 ≤ 1e-3 within 15 s; merton value and policy rel L2 ≤ 1e-2
within 20 s.
- hjb: one default solve per seed (hjb.solvers.discounted). After each PI iteration V_k and α_{k+1} are compared
  with the closed form on the case's grid; the seconds are the solver's own, from the start of the solve, with the
  measuring left out (the solver never sees the closed form).
- plain DeepXDE (hjb.baselines.plain_deepxde): the nonlinear HJB residual, no boundary data, no policy iteration,
  the same network and collocation count, at each of BUDGETS (Adam steps, L-BFGS iterations); α greedy in V.
Every run is on one torch thread, one after another. Prints a table (mean and min–max over the seeds) and writes
JSON (default benchmarks/results/time_to_accuracy.json).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from hjb.baselines.plain_deepxde import plain_deepxde
from hjb.io.atomic import atomic_write_text
from hjb.progress import Progress
from hjb.solvers.discounted import DiscountedScheme
from hjb.solvers.iteration import policy_iteration
from hjb.solvers.policies import GreedyPolicy
from hjb.validation.metrics import columnwise_rel_l2, rel_l2
from hjb.validation.suites import get_suite

TARGETS = {"lqr1d": (15.0, {"value_rel_l2": 1e-3}),
           "merton": (20.0, {"value_rel_l2": 1e-2, "policy_rel_l2": 1e-2})}
BUDGETS = ((1000, 0), (2000, 500), (4000, 2000))


def errors(case, reference, value: np.ndarray, action: np.ndarray, x: np.ndarray) -> dict:
    """Value and (worst component) policy rel L2 against the closed form at x."""
    return {"value_rel_l2": rel_l2(value, reference.value(x)),
            "policy_rel_l2": columnwise_rel_l2(action.reshape(len(x), -1),
                                               np.asarray(reference.policy(x), dtype=float).reshape(len(x), -1))}


def hjb_curve(case, seed: int) -> list[dict]:
    """One default solve; after each PI iteration its seconds so far (measuring excluded) and errors."""
    settings = case.settings.replace(seed=seed)
    problem = case.problem_factory()
    reference, x = case.reference_factory(problem), case.grid_box.grid(case.grid_points)
    points, measuring = [], [0.0]
    start = time.perf_counter()
    scheme = DiscountedScheme(problem, settings, Progress(settings.max_iterations, enabled=False))
    after = scheme.after

    def measured_after(it, policy, history):
        after(it, policy, history)
        begun = time.perf_counter()
        solution = scheme.solution(policy, history, "running")
        row = {"iteration": it + 1, "seconds": begun - start - measuring[0],
               **errors(case, reference, solution.value(x), solution.action(x), x)}
        points.append(row)
        measuring[0] += time.perf_counter() - begun

    scheme.after = measured_after
    policy_iteration(scheme, settings.max_iterations, settings.min_iterations, scheme.progress)
    return points


def baseline_point(case, seed: int, adam: int, lbfgs: int) -> dict:
    """Plain DeepXDE at one budget: seconds and errors."""
    problem = case.problem_factory()
    reference, x = case.reference_factory(problem), case.grid_box.grid(case.grid_points)
    start = time.perf_counter()
    critic = plain_deepxde(problem, case.settings, seed, adam, lbfgs)
    seconds = time.perf_counter() - start
    xt = torch.as_tensor(x, dtype=torch.float64)
    value, action = critic.value(xt).numpy(), GreedyPolicy(problem, critic)(xt).numpy()
    return {"adam_steps": adam, "lbfgs_steps": lbfgs, "seconds": seconds, **errors(case, reference, value, action, x)}


def spread(values: list[float]) -> str:
    return f"{np.mean(values):.3g} [{min(values):.3g}, {max(values):.3g}]"


def line(label: str, rows: list[dict]) -> str:
    """One table row: seconds, value and policy rel L2 over the seeds."""
    columns = [spread([r[key] for r in rows]) for key in ("seconds", "value_rel_l2", "policy_rel_l2")]
    return f"{label:28s} {columns[0]:>28s} {columns[1]:>30s} {columns[2]:>30s}"


def report(name: str, runs: dict) -> dict:
    """Print the case's table; the time to target per seed (None when never reached)."""
    limit, target = TARGETS[name]
    print(f"\n{name}: target {', '.join(f'{k} ≤ {v:g}' for k, v in target.items())} within {limit:g} s")
    print(f"{'method':28s} {'seconds':>28s} {'value rel L2':>30s} {'policy rel L2':>30s}")
    curves = runs["hjb"]
    for k in range(max(len(c) for c in curves)):
        print(line(f"hjb after PI {k + 1}", [c[min(k, len(c) - 1)] for c in curves]))
    for b, (adam, lbfgs) in enumerate(BUDGETS):
        print(line(f"plain DeepXDE {adam}+{lbfgs}", [seed_rows[b] for seed_rows in runs["plain_deepxde"]]))
    reached = [next((r["seconds"] for r in c if all(r[k] <= v for k, v in target.items())), None) for c in curves]
    met = all(t is not None and t <= limit for t in reached)
    print(f"hjb time to target per seed: {reached} -> {'met' if met else 'NOT met'}")
    return {"time_to_target": reached, "target_met": met, "limit_seconds": limit, "target": target}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="benchmarks/results/time_to_accuracy.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cases = {c.name: c for c in get_suite("quick") if c.name in args.cases}
    result = {}
    for name in args.cases:
        case = cases[name]
        runs = {"hjb": [hjb_curve(case, seed) for seed in args.seeds],
                "plain_deepxde": [[baseline_point(case, seed, *b) for b in BUDGETS] for seed in args.seeds]}
        result[name] = {"seeds": args.seeds, **runs, "summary": report(name, runs)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(result, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
