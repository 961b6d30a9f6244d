"""One cell of a sweep, run on a Dask worker: make_problem(**params), solve at the file's settings, evaluate the
solution on the export grid. A failure is returned in the cell (status "failed" and its message), never raised."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from hjb.errors import TrainingDivergedError

FAILED = "failed"


def _factory(path: str, source: str):
    """make_problem and settings from the file at `path` when this worker sees it unchanged, else from `source`
    written to a temporary file of the same name (a worker on another machine)."""
    from hjb.io.pdefile import load_factory

    file = Path(path)
    if file.is_file() and file.read_text(encoding="utf-8") == source:
        return load_factory(file)
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / file.name
        copy.write_text(source, encoding="utf-8")
        return load_factory(copy)


def _failed(error: str, seconds: float = float("nan")) -> dict:
    return {"status": FAILED, "error": error, "seconds": seconds, "iterations": 0, "hjb_residual_rms": float("nan")}


def solve_cell(path: str, source: str, params: dict, seed: int | None, points: int, times: int | None) -> dict:
    """{status, error, seconds, iterations, hjb_residual_rms, value (n,), policy (n, m), hjb_residual (n,)} of the
    problem make_problem(**params) solved with the file's settings (or its solver's defaults), seed replaced."""
    from hjb.io.export import evaluate, grid_points
    from hjb.settings import default_settings
    from hjb.solvers.dispatch import solve_problem

    start = time.perf_counter()
    try:
        make_problem, settings = _factory(path, source)
        problem = make_problem(**params)
        settings = settings or default_settings(problem)
        if seed is not None:
            settings = settings.replace(seed=seed)
        error = ""
        try:
            solution = solve_problem(problem, settings, progress=False)
        except TrainingDivergedError as err:
            if err.last_finite is None:
                raise
            solution, error = err.last_finite, f"TrainingDivergedError: {err}"
        seconds = time.perf_counter() - start
        value, policy, residual = evaluate(solution, grid_points(problem, points, times)[0])
    except Exception as err:  # any failure of one cell (a bad parameter value, a bug in make_problem) stays in it
        return _failed(f"{type(err).__name__}: {' '.join(str(err).split())}", time.perf_counter() - start)
    history = solution.history
    return {"status": solution.status, "error": error, "seconds": seconds, "iterations": len(history),
            "hjb_residual_rms": float(history[-1]["hjb_residual_rms"]) if history else float("nan"),
            "value": value, "policy": policy.reshape(len(value), -1), "hjb_residual": residual}
