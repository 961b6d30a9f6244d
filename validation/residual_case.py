"""Validation of residual PDEs (hjb.pdes.residual_pde) against exact solutions: a case declares the PDE (a fact of its
problem: domain, conditions, output transform), the exact u and, optionally, one exact derivative, the points it
measures on and its tolerances; it is solved at ResidualSettings' defaults."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hjb.errors import TrainingDivergedError
from hjb.settings import RESIDUAL_SETTINGS, ResidualSettings
from hjb.validation.cases import check_tolerances, fit_seconds, passed

METRICS = ("rel_l2", "derivative_rel_l2", "residual_relative")


def _rel_l2(computed: np.ndarray, exact: np.ndarray) -> float:
    return float(np.linalg.norm(computed - exact) / np.linalg.norm(exact))


@dataclass(frozen=True)
class ResidualCase:
    """Solve make() (a ResidualPDE) and measure u against exact(points) (n,) at points() (n, D): rel L2, and with
    `derivative` = (axis, exact ∂u/∂x_axis) the derivative's rel L2 there; residual_relative is the solve's own
    measure (residual and condition misfits relative to their scale, on fresh points). line() (n, D), with its
    coordinate column `line_axis` and label, is where the report plots u against the exact u."""

    name: str
    make: Callable[[], Any]
    exact: Callable[[np.ndarray], np.ndarray]
    points: Callable[[], np.ndarray]
    tolerances: dict[str, float] = field(default_factory=dict)
    derivative: tuple[int, Callable[[np.ndarray], np.ndarray]] | None = None
    settings: ResidualSettings = RESIDUAL_SETTINGS
    line: Callable[[], np.ndarray] | None = None
    line_axis: int = 0
    line_label: str = "x0"
    kind = "residual"

    def __post_init__(self):
        check_tolerances(self.name, self.tolerances, METRICS)

    def cost(self) -> float:
        """≈ seconds on one core: the fit's points × inputs × width × steps (fit_seconds) at the PDE's input count."""
        s, columns = self.settings, self.make().columns
        return fit_seconds(s.collocation + s.boundary_points, columns, s.width, s)

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: name, kind, the PDE's description, tolerances."""
        return {"name": self.name, "kind": self.kind, "pde": self.make().describe(), "tolerances": dict(self.tolerances)}

    def run(self, seed: int | None = None, progress: bool = True) -> dict:
        """Solve (never seeing the exact u), then measure."""
        from hjb.solvers.residual import solve_residual

        settings = self.settings if seed is None else self.settings.replace(seed=seed)
        pde, start = self.make(), time.perf_counter()
        try:
            solution = solve_residual(pde, settings, progress=progress)
        except TrainingDivergedError as err:
            return {**self.describe(), "seconds": time.perf_counter() - start, "status": "diverged",
                    "error": str(err), "passed": False, **{key: None for key in METRICS}}
        seconds = time.perf_counter() - start
        x = self.points()
        u, exact = solution.value(x), self.exact(x)
        metrics = {"rel_l2": _rel_l2(u, exact), "residual_relative": solution.history[0]["relative"],
                   "derivative_rel_l2": None}
        if self.derivative is not None:
            axis, derivative = self.derivative
            metrics["derivative_rel_l2"] = _rel_l2(solution.gradient(x)[:, axis], derivative(x))
        line = x if self.line is None else self.line()
        return {**self.describe(), "settings": settings.to_dict(), **metrics, "iterations": 1, "seconds": seconds,
                "status": solution.status, "error": None, "passed": passed(metrics, self.tolerances),
                "history": solution.history,
                "arrays": {"line": line[:, self.line_axis], "u": solution.value(line), "u_reference": self.exact(line),
                           "label": self.line_label}}
