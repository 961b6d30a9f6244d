"""Run validation cases: solve (the solver never sees the closed form), then compare with it on the case's grid."""
from __future__ import annotations

import datetime
import math
import os
import time
from pathlib import Path

import numpy as np

from hjb.errors import ProblemError, TrainingDivergedError
from hjb.export import evaluate
from hjb.iteration import solve
from hjb.plots import plot_grid
from hjb.progress import Progress
from hjb.validation.cases import ValidationCase
from hjb.validation.metrics import columnwise_rel_l2, rel_l2
from hjb.validation.suites import get_suite


def _passed(metrics: dict, tolerances: dict) -> bool:
    values = [metrics.get(key) for key in tolerances]
    return all(v is not None and math.isfinite(v) and v <= tol for v, tol in zip(values, tolerances.values(), strict=False))


def run_case(case: ValidationCase, seed: int | None = None, progress: bool = True) -> dict:
    """Solve the case and measure value_rel_l2, policy_rel_l2 (worst action component) and max |R_HJB| on its grid (grid_points^d, d).

    Returns the JSON-ready results plus "arrays" (plot grid, solver and closed-form V and α, history) for plots.
    A diverged solve is reported (status "diverged", error message, passed False) with its last finite weights.
    """
    settings = case.settings if seed is None else case.settings.replace(seed=seed)
    problem = case.problem_factory()
    reference = case.reference_factory(problem)
    start = time.perf_counter()
    error = None
    try:
        solution = solve(problem, settings, Progress(settings.max_iterations, enabled=progress, label=case.name))
    except TrainingDivergedError as err:
        if err.last_finite is None:
            raise
        solution, error = err.last_finite, str(err)
    seconds = time.perf_counter() - start
    x = case.grid_box.grid(case.grid_points)
    value, policy, residual = evaluate(solution, x)
    ref_policy = np.asarray(reference.policy(x), dtype=float).reshape(len(x), -1)
    metrics = {
        "value_rel_l2": rel_l2(value, reference.value(x)),
        "policy_rel_l2": columnwise_rel_l2(policy, ref_policy),
        "max_abs_hjb_residual": float(np.max(np.abs(residual))) if np.all(np.isfinite(residual)) else float("nan"),
    }
    plot = plot_grid(case.grid_box)
    history = solution.history
    return {
        "name": case.name,
        "problem": problem.describe(),
        "settings": settings.to_dict(),
        "grid_box": case.grid_box.to_dict(),
        "grid_points": case.grid_points,
        "tolerances": dict(case.tolerances),
        **metrics,
        "iterations": solution.iterations,
        "final_hjb_residual_rms": history[-1]["hjb_residual_rms"] if history else None,
        "seconds": seconds,
        "status": solution.status,
        "error": error,
        "passed": error is None and _passed(metrics, case.tolerances),
        "arrays": {
            "plot_grid": plot,
            "value": solution.value(plot.x),
            "value_reference": np.asarray(reference.value(plot.x), dtype=float),
            "policy": solution.action(plot.x),
            "policy_reference": np.asarray(reference.policy(plot.x), dtype=float),
            "history": history,
        },
    }


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _cost(case: ValidationCase) -> float:
    """Rough relative cost of a solve: collocation points × dimension × network width × PI iterations."""
    s = case.settings
    return s.collocation * case.grid_box.dim * s.width * s.max_iterations


def _run_in_worker(case: ValidationCase, seed: int | None, progress: bool, threads: int) -> dict:
    """run_case in a worker process with `threads` torch threads."""
    import torch

    torch.set_num_threads(threads)
    return run_case(case, seed=seed, progress=progress)


def run_cases(
    cases: list[ValidationCase], seed: int | None = None, progress: bool = True, jobs: int = 1, threads: int = 1
) -> list[dict]:
    """run_case for every case, in order; jobs > 1 solves that many cases at once in separate
    processes (each with `threads` torch threads), starting the costliest first."""
    if jobs < 1:
        raise ProblemError(f"jobs must be a positive integer; got {jobs!r}")
    if jobs == 1 or len(cases) == 1:
        return [run_case(case, seed=seed, progress=progress) for case in cases]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    order = sorted(range(len(cases)), key=lambda i: -_cost(cases[i]))
    # spawn, not fork: a forked child would inherit torch's thread pools from the parent.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(cases)), mp_context=context) as pool:
        futures = {i: pool.submit(_run_in_worker, cases[i], seed, progress, threads) for i in order}
        return [futures[i].result() for i in range(len(cases))]


def run_suite(
    name: str, out_dir: str | os.PathLike, seed: int | None = None, progress: bool = True, jobs: int = 1, threads: int = 1
) -> dict:
    """Run every case of suite `name` (`jobs` at a time), write report.json, report.md and the PNGs into out_dir; return the report."""
    from hjb.validation.report import write_report

    cases = get_suite(name)
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    wall = time.perf_counter()
    results = run_cases(cases, seed=seed, progress=progress, jobs=jobs, threads=threads)
    report = {
        "suite": name,
        "seed": seed,
        "created": started,
        "passed": all(r["passed"] for r in results),
        "jobs": jobs,
        "wall_seconds": time.perf_counter() - wall,
        "cases": results,
    }
    write_report(report, Path(out_dir))
    return report
