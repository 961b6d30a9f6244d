"""A validation case: a problem, the settings to solve it with, its closed form, the grid and the tolerances."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from hjb.errors import ProblemError
from hjb.geometry.box import Box
from hjb.pdes.problem import ControlProblem
from hjb.settings import SolverSettings

METRICS = ("value_rel_l2", "policy_rel_l2", "max_abs_hjb_residual")


class Reference(Protocol):
    """A closed-form solution: value(x) (n,) and policy(x) (n, m) for x (n, d)."""

    def value(self, x: np.ndarray) -> np.ndarray: ...

    def policy(self, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ValidationCase:
    """Solve problem_factory() with settings; compare V and α with reference_factory(problem) on
    grid_box.grid(grid_points) ((grid_points^d, d) points); pass when every metric named in
    tolerances (keys from METRICS) is at most its tolerance."""

    name: str
    problem_factory: Callable[[], ControlProblem]
    settings: SolverSettings
    reference_factory: Callable[[ControlProblem], Reference]
    grid_box: Box
    grid_points: int
    tolerances: dict[str, float] = field(default_factory=dict)

    def __post_init__(self):
        unknown = sorted(set(self.tolerances) - set(METRICS))
        if unknown:
            raise ProblemError(f"validation case {self.name!r} has unknown tolerances {unknown}; expected keys from {METRICS}")

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: name, grid, tolerances."""
        return {"name": self.name, "grid_box": self.grid_box.to_dict(), "grid_points": self.grid_points,
                "tolerances": dict(self.tolerances)}
