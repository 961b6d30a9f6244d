"""Which solver takes a problem: discounted policy iteration for a ControlProblem, finite-horizon policy iteration
for a FiniteHorizonProblem (a DiffusionModel among them)."""
from __future__ import annotations

from hjb.pdes.finite_horizon import FiniteHorizonProblem
from hjb.settings import FiniteHorizonSettings, SolverSettings, default_settings
from hjb.solvers.discounted import solve
from hjb.solvers.finite_horizon import solve_finite_horizon
from hjb.solvers.solution import Solution


def solve_problem(problem, settings: SolverSettings | FiniteHorizonSettings | None = None, progress=True) -> Solution:
    """Solve with the problem's solver: discounted policy iteration (hjb.solvers.discounted.solve) for a ControlProblem,
    finite-horizon policy iteration (solve_finite_horizon) for a FiniteHorizonProblem; settings default to the
    solver's own (default_settings)."""
    settings = settings or default_settings(problem)
    solver = solve_finite_horizon if isinstance(problem, FiniteHorizonProblem) else solve
    return solver(problem, settings, progress=progress)
