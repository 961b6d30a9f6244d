"""Run validation cases, one at a time here or several at once on Dask distributed, and write the suite's report."""
from __future__ import annotations

import datetime
import os
import time
from collections.abc import Sequence
from pathlib import Path

from hjb.cluster.client import check_jobs, dask_client, map_in_order
from hjb.progress import bar
from hjb.validation.cases import Case
from hjb.validation.suites import get_suite


def run_case(case: Case, seed: int | None = None, progress: bool = True) -> dict:
    """Solve the case (the solver never sees the closed form) and measure it: case.run(seed, progress)."""
    return case.run(seed=seed, progress=progress)


def run_cases(cases: list[Case], seed: int | None = None, progress: bool = True, jobs: int = 1, threads: int = 1,
              scheduler: str | None = None) -> list[dict]:
    """run_case for every case, results in suite order, with a bar over the cases. With jobs > 1 or a
    `scheduler`, the cases are solved on Dask (hjb.cluster): a LocalCluster of min(jobs, cases) single-threaded
    workers, or the cluster at `scheduler`, each case with `threads` torch threads, the costliest first; their
    own progress is then off (the bars of parallel solves would interleave). Else one after the other, here."""
    check_jobs(jobs)
    with bar(len(cases), "validation cases", progress, unit="case") as shown:
        if scheduler is None and (jobs == 1 or len(cases) == 1):
            results = []
            for case in cases:
                results.append(run_case(case, seed=seed, progress=progress))
                shown.update()
            return results
        with dask_client(scheduler, min(jobs, len(cases))) as client:
            return map_in_order(client, run_case, [(case, seed, False) for case in cases],
                                costs=[case.cost() for case in cases], threads=threads,
                                on_done=lambda index, result: shown.update())


def run_suite(
    name: str, out_dir: str | os.PathLike, seed: int | None = None, progress: bool = True, jobs: int = 1, threads: int = 1,
    scheduler: str | None = None, only: Sequence[str] | None = None,
) -> dict:
    """Run every case of suite `name`, or those named in `only` (run_cases: `jobs` at a time, or on the cluster at
    `scheduler`), write report.json, report.md and the PNGs into out_dir; return the report."""
    from hjb.validation.report import write_report

    cases = get_suite(name, only)
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    wall = time.perf_counter()
    results = run_cases(cases, seed=seed, progress=progress, jobs=jobs, threads=threads, scheduler=scheduler)
    report = {
        "suite": name,
        "seed": seed,
        "only": None if only is None else [case.name for case in cases],
        "created": started,
        "passed": all(r["passed"] for r in results),
        "jobs": jobs if scheduler is None else None,
        "scheduler": scheduler,
        "wall_seconds": time.perf_counter() - wall,
        "cases": results,
    }
    write_report(report, Path(out_dir))
    return report
