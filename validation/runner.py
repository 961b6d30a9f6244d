"""Run validation cases, one at a time or several at once in worker processes, and write the suite's report."""
from __future__ import annotations

import datetime
import os
import time
from pathlib import Path

from hjb.errors import ProblemError
from hjb.validation.cases import Case
from hjb.validation.suites import get_suite


def run_case(case: Case, seed: int | None = None, progress: bool = True) -> dict:
    """Solve the case (the solver never sees the closed form) and measure it: case.run(seed, progress)."""
    return case.run(seed=seed, progress=progress)


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _run_in_worker(case: Case, seed: int | None, progress: bool, threads: int) -> dict:
    """run_case in a worker process with `threads` torch threads."""
    import torch

    torch.set_num_threads(threads)
    return run_case(case, seed=seed, progress=progress)


def run_cases(
    cases: list[Case], seed: int | None = None, progress: bool = True, jobs: int = 1, threads: int = 1
) -> list[dict]:
    """run_case for every case, in order; jobs > 1 solves that many cases at once in separate
    processes (each with `threads` torch threads), starting the costliest first."""
    if jobs < 1:
        raise ProblemError(f"jobs must be a positive integer; got {jobs!r}")
    if jobs == 1 or len(cases) == 1:
        return [run_case(case, seed=seed, progress=progress) for case in cases]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    order = sorted(range(len(cases)), key=lambda i: -cases[i].cost())
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
