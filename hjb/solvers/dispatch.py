"""Which solver takes a problem: discounted policy iteration for a ControlProblem, finite-horizon policy iteration
for a FiniteHorizonProblem (a DiffusionModel among them), the residual fit for a ResidualPDE."""
from __future__ import annotations

from hjb.pdes.finite_horizon import FiniteHorizonProblem
from hjb.pdes.residual_pde import ResidualPDE
from hjb.settings import AnySettings, default_settings
from hjb.solvers.discounted import solve
from hjb.solvers.finite_horizon import solve_finite_horizon
from hjb.solvers.residual import ResidualSolution, solve_residual
from hjb.solvers.solution import Solution


def solve_problem(problem, settings: AnySettings | None = None, progress=True) -> Solution | ResidualSolution:
    """Solve with the problem's solver: discounted policy iteration (hjb.solvers.discounted.solve) for a ControlProblem,
    finite-horizon policy iteration (solve_finite_horizon) for a FiniteHorizonProblem, solve_residual for a
    ResidualPDE; settings default to the solver's own (default_settings)."""
    settings = settings or default_settings(problem)
    if isinstance(problem, ResidualPDE):
        return solve_residual(problem, settings, progress=progress)
    solver = solve_finite_horizon if isinstance(problem, FiniteHorizonProblem) else solve
    return solver(problem, settings, progress=progress)
