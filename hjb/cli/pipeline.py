"""`hjb solve` as a function: PDE file → policy iteration → run directory (also when training diverges)."""
from __future__ import annotations

import os
from pathlib import Path

from hjb.errors import TrainingDivergedError
from hjb.io.atomic import check_replaceable
from hjb.io.pdefile import load_problem
from hjb.io.rundir import save_run
from hjb.settings import default_settings
from hjb.solvers.dispatch import solve_problem
from hjb.solvers.solution import RUN_MARKER, Solution


def default_run_dir(problem_name: str) -> Path:
    """runs/<problem name> under the current directory."""
    return Path("runs") / problem_name


def solve_file(
    path: str | os.PathLike, out_dir: str | os.PathLike | None = None, seed: int | None = None, progress: bool = True
) -> tuple[Solution, Path]:
    """Load the PDE file, solve it (file settings or defaults; seed overrides), save the run; return both.

    A ControlProblem is solved by discounted policy iteration (hjb.solvers.discounted.solve), a FiniteHorizonProblem
    (e.g. a DiffusionModel) by finite-horizon policy iteration (solve_finite_horizon).
    On TrainingDivergedError the last finite solution is saved (status "diverged") before the error is
    re-raised with `.run_dir` set to where it went (None when there was nothing to save).
    """
    problem, settings = load_problem(path)
    settings = settings or default_settings(problem)
    if seed is not None:
        settings = settings.replace(seed=seed)
    run_dir = Path(out_dir) if out_dir is not None else default_run_dir(problem.name)
    check_replaceable(run_dir, RUN_MARKER)  # refuse an --out that cannot become a run directory before solving
    try:
        solution = solve_problem(problem, settings, progress=progress)
    except TrainingDivergedError as err:
        err.run_dir = None
        if err.last_finite is not None:
            err.run_dir = save_run(err.last_finite, run_dir, path)
        raise
    return solution, save_run(solution, run_dir, path)
