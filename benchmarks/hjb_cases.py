"""Speed and accuracy of the infinite-horizon HJB cases at default settings over several seeds, plus a
plain-DeepXDE baseline.

python benchmarks/hjb_cases.py [--suite quick|full] [--cases lqr1d merton …] [--seeds 0 1 2] [--jobs N]
                                 [--out benchmarks/results/hjb_cases.json] [--no-baseline]

Per case and seed: wall seconds, PI iterations, status, value/policy rel L2 and max |HJB residual| on the
case's grid; then the spread (min, max) over the seeds. Every solve runs on one thread; --jobs runs that many
at once on a Dask LocalCluster (seconds are then those of a loaded machine). Baseline: the seed 1-D LQR
solved by DeepXDE on the *nonlinear* HJB residual with no boundary data, with the same network and the same
Adam + L-BFGS step budget as the hjb solve of the first seed.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

from hjb.baselines.plain_deepxde import plain_deepxde
from hjb.io.atomic import atomic_write_text
from hjb.pdes import seed_lqr
from hjb.settings import SolverSettings
from hjb.validation.metrics import columnwise_rel_l2, rel_l2
from hjb.validation.riccati import lqr_solution
from hjb.validation.runner import run_cases
from hjb.validation.suites import get_suite

KEYS = ("seconds", "iterations", "status", "value_rel_l2", "policy_rel_l2", "max_abs_hjb_residual", "passed")


def step_budget(settings: SolverSettings, history: list[dict]) -> tuple[int, int]:
    """(Adam steps, L-BFGS iterations) at most spent by a policy-iteration solve with this history."""
    iterations, anchored = len(history), sum(bool(h.get("anchored_phase")) for h in history)
    adam = settings.adam_steps_first + (iterations - 1) * settings.adam_steps + anchored * settings.anchored_adam_steps
    return adam, iterations * settings.pde_lbfgs_steps + anchored * settings.lbfgs_steps


def plain_deepxde_lqr(seed: int, adam_steps: int, lbfgs_steps: int) -> dict:
    """Seed LQR by plain DeepXDE (hjb.baselines.plain_deepxde): the nonlinear HJB residual, no boundary data."""
    problem = seed_lqr()
    start = time.perf_counter()
    critic = plain_deepxde(problem, SolverSettings(), seed, adam_steps, lbfgs_steps)
    seconds = time.perf_counter() - start
    x = problem.domain.grid(201)
    exact = lqr_solution(problem)
    xt = torch.as_tensor(x, dtype=torch.float64)
    V, dV, _ = critic.derivatives(xt)
    action = problem.greedy_action(xt, dV, None).numpy()
    return {
        "seed": seed, "seconds": seconds, "adam_steps": adam_steps, "lbfgs_steps": lbfgs_steps,
        "value_rel_l2": rel_l2(V.numpy()[:, 0], exact.value(x)),
        "policy_rel_l2": columnwise_rel_l2(action, exact.policy(x)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="full", help="the suite whose HJB cases run (default full)")
    parser.add_argument("--cases", nargs="+", help="only these cases")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=1, help="solves at once, on that many Dask workers")
    parser.add_argument("--out", default="benchmarks/results/hjb_cases.json")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    # The HJB cases only: the Fokker–Planck and diffusion cases report other metrics, and the diffusion cases
    # have their own benchmark (diffusion_vs_dsm.py).
    cases = [c for c in get_suite(args.suite) if c.kind == "hjb" and (not args.cases or c.name in args.cases)]
    rows, histories = [], {}
    # One solve per (case, seed), all of them spread over the --jobs processes (the slowest case's seeds too).
    runs = [(case, seed) for seed in args.seeds for case in cases]
    seeded = [dataclasses.replace(case, settings=case.settings.replace(seed=seed)) for case, seed in runs]
    for (case, seed), result in zip(runs, run_cases(seeded, progress=False, jobs=args.jobs), strict=True):
        row = {"case": case.name, "seed": seed, **{k: result[k] for k in KEYS}}
        rows.append(row)
        histories[(case.name, seed)] = result["arrays"]["history"]
        print(f"{row['case']:15s} seed {seed}  {row['seconds']:6.1f}s  PI {row['iterations']}  {row['status']:13s} "
              f"value {row['value_rel_l2']:.2e}  policy {row['policy_rel_l2']:.2e}  "
              f"max|R| {row['max_abs_hjb_residual']:.2e}  {'pass' if row['passed'] else 'FAIL'}", flush=True)
    baseline = []
    if not args.no_baseline and ("lqr1d", args.seeds[0]) in histories:
        adam, lbfgs = step_budget(SolverSettings(), histories[("lqr1d", args.seeds[0])])
        for seed in args.seeds:
            b = plain_deepxde_lqr(seed, adam, lbfgs)
            baseline.append(b)
            print(f"plain DeepXDE nonlinear HJB, no BC, seed {seed}: {b['seconds']:.1f}s  "
                  f"value {b['value_rel_l2']:.2e}  policy {b['policy_rel_l2']:.2e}  "
                  f"({adam} Adam + {lbfgs} L-BFGS)", flush=True)
    summary = {}
    for name in sorted({r["case"] for r in rows}):
        sel = [r for r in rows if r["case"] == name]
        summary[name] = {k: [min(r[k] for r in sel), max(r[k] for r in sel)]
                         for k in ("seconds", "iterations", "value_rel_l2", "policy_rel_l2")}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps({"runs": rows, "baseline": baseline, "spread": summary}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
