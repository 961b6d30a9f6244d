"""Validation cases: what every case offers the runner (Case), and the infinite-horizon HJB case (ValidationCase):
a problem, the settings to solve it with, its closed form, the grid and the tolerances."""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from hjb.errors import ProblemError, TrainingDivergedError
from hjb.geometry.box import Box
from hjb.pdes.problem import ControlProblem
from hjb.settings import SolverSettings

METRICS = ("value_rel_l2", "policy_rel_l2", "max_abs_hjb_residual")
# Points × inputs × width × optimiser steps per second of one core, as measured on the quick suite: mixture1d
# 1.28e9 in 232 s, lqr2d 5.7e8 in 111 s, ou_fokker_planck 2.9e8 in 57 s, the 1-D HJB cases 2.8e8 in 38–65 s.
FIT_RATE = 5e6


def fit_seconds(points: int, inputs: int, width: int, settings) -> float:
    """≈ one core's seconds for the PINN fits of one solve: points × inputs × width × the optimiser steps its
    settings allow (adam_steps_first + (max_iterations − 1)·adam_steps + max_iterations·pde_lbfgs_steps; one fit
    where there is no iteration) ÷ FIT_RATE. It ranks the cases for scheduling, costliest first."""
    iterations = getattr(settings, "max_iterations", 1)
    steps = (settings.adam_steps_first + (iterations - 1) * getattr(settings, "adam_steps", 0)
             + iterations * settings.pde_lbfgs_steps)
    return points * inputs * width * steps / FIT_RATE


TEST_POINTS = 10_000  # sampled test points above GRID_MAX_DIM
GRID_MAX_DIM = 3
TEST_SEED = 20_261_130  # one test set for every solve seed


def measure_points(box: Box, grid_points: int, test_points: int = TEST_POINTS) -> np.ndarray:
    """The points a case is measured on: box.grid(grid_points) up to GRID_MAX_DIM dimensions, test_points uniform
    points of the box above (a tensor grid has grid_points^d points)."""
    if box.dim <= GRID_MAX_DIM:
        return box.grid(grid_points)
    return box.sample(test_points, "uniform", seed=TEST_SEED)


class Case(Protocol):
    """A validation case: `kind` picks its report table and plots; run() solves (never seeing the closed form),
    then measures against the closed form and returns JSON-ready results (metrics, seconds, status, error,
    passed) plus "arrays" for its plots; cost() ranks cases for scheduling (≈ seconds on one core)."""

    name: str
    kind: str
    tolerances: dict[str, float]

    def run(self, seed: int | None = None, progress: bool = True) -> dict: ...

    def cost(self) -> float: ...

    def describe(self) -> dict[str, Any]: ...


def check_tolerances(name: str, tolerances: dict[str, float], metrics: tuple[str, ...]) -> None:
    """ProblemError when a tolerance names no metric of the case."""
    unknown = sorted(set(tolerances) - set(metrics))
    if unknown:
        raise ProblemError(f"validation case {name!r} has unknown tolerances {unknown}; expected keys from {metrics}")


def passed(metrics: dict, tolerances: dict) -> bool:
    """Every metric named in tolerances is finite and at most its tolerance."""
    values = [metrics.get(key) for key in tolerances]
    return all(v is not None and math.isfinite(v) and v <= tol for v, tol in zip(values, tolerances.values(), strict=True))


class Reference(Protocol):
    """A closed-form solution: value(x) (n,) and policy(x) (n, m) for x (n, d)."""

    def value(self, x: np.ndarray) -> np.ndarray: ...

    def policy(self, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ValidationCase:
    """Solve problem_factory() with settings; compare V and α with reference_factory(problem) on
    grid_box.grid(grid_points) ((grid_points^d, d) points) up to 3-D, above on test_points uniform points of
    grid_box (measure_points); pass when every metric named in tolerances (keys from METRICS) is at most its tolerance."""

    name: str
    problem_factory: Callable[[], ControlProblem]
    settings: SolverSettings
    reference_factory: Callable[[ControlProblem], Reference]
    grid_box: Box
    grid_points: int
    tolerances: dict[str, float] = field(default_factory=dict)
    test_points: int = TEST_POINTS
    kind = "hjb"

    def __post_init__(self):
        check_tolerances(self.name, self.tolerances, METRICS)

    def cost(self) -> float:
        """≈ seconds on one core (fit_seconds): collocation points × dimension × width × step budget."""
        s = self.settings
        return fit_seconds(s.collocation, self.grid_box.dim, s.width, s)

    def run(self, seed: int | None = None, progress: bool = True) -> dict:
        """Solve, then measure value_rel_l2, policy_rel_l2 (worst action component) and max |R_HJB| on the grid
        (grid_points^d, d). A diverged solve is reported (status "diverged", error, passed False) with its last
        finite weights."""
        from hjb.io.export import evaluate
        from hjb.io.plots import plot_grid
        from hjb.progress import Progress
        from hjb.solvers.discounted import solve
        from hjb.validation.metrics import columnwise_rel_l2, rel_l2

        settings = self.settings if seed is None else self.settings.replace(seed=seed)
        problem = self.problem_factory()
        reference = self.reference_factory(problem)
        start = time.perf_counter()
        error = None
        try:
            solution = solve(problem, settings, Progress(settings.max_iterations, enabled=progress, label=self.name))
        except TrainingDivergedError as err:
            if err.last_finite is None:
                raise
            solution, error = err.last_finite, str(err)
        seconds = time.perf_counter() - start
        x = measure_points(self.grid_box, self.grid_points, self.test_points)
        value, policy, residual = evaluate(solution, x)
        ref_policy = np.asarray(reference.policy(x), dtype=float).reshape(len(x), -1)
        metrics = {
            "value_rel_l2": rel_l2(value, reference.value(x)),
            "policy_rel_l2": columnwise_rel_l2(policy, ref_policy),
            "max_abs_hjb_residual": float(np.max(np.abs(residual))) if np.all(np.isfinite(residual)) else float("nan"),
        }
        plot = plot_grid(self.grid_box, names=problem.state_names)
        history = solution.history
        return {
            "name": self.name,
            "kind": self.kind,
            "problem": problem.describe(),
            "settings": settings.to_dict(),
            "grid_box": self.grid_box.to_dict(),
            "grid_points": self.grid_points,
            "tolerances": dict(self.tolerances),
            **metrics,
            "iterations": solution.iterations,
            "final_hjb_residual_rms": history[-1]["hjb_residual_rms"] if history else None,
            "seconds": seconds,
            "status": solution.status,
            "error": error,
            "passed": error is None and passed(metrics, self.tolerances),
            "arrays": {
                "plot_grid": plot,
                "value": solution.value(plot.x),
                "value_reference": np.asarray(reference.value(plot.x), dtype=float),
                "policy": solution.action(plot.x),
                "policy_reference": np.asarray(reference.policy(plot.x), dtype=float),
                "history": history,
            },
        }

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: name, grid, tolerances."""
        return {"name": self.name, "kind": self.kind, "grid_box": self.grid_box.to_dict(), "grid_points": self.grid_points,
                "tolerances": dict(self.tolerances)}
