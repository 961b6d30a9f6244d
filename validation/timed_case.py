"""Validation of time-dependent control problems (a FiniteHorizonProblem, with or without discount or noise, or a
PeriodicProblem) against closed forms V(x, t) and α*(x, t) on space-time points, at FINITE_HORIZON_SETTINGS."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from hjb.settings import FINITE_HORIZON_SETTINGS, FiniteHorizonSettings
from hjb.validation.cases import check_tolerances, fit_seconds, passed
from hjb.validation.metrics import columnwise_rel_l2, rel_l2

METRICS = ("value_rel_l2", "policy_rel_l2", "band_max_error")


class TimedReference(Protocol):
    """A closed form at space-time points xt (n, d + 1): value (n,) and policy (n, m)."""

    def value(self, xt: np.ndarray) -> np.ndarray: ...

    def policy(self, xt: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class TimedCase:
    """Solve make() with the finite-horizon policy iteration at `settings`, then measure V and α against
    reference(problem) at points() (n, d + 1): value and policy rel L2 (worst action component), and, with `band`
    (xt (n, d + 1) -> bool mask (n,)), band_max_error = max |V − V_ref| over the masked points ÷ max |V_ref| over all
    (a closed form's kink, where a smooth network is worst). line() (n, d + 1), plotted against its column
    `line_axis` (label `line_label`), is where the report draws V against the closed form."""

    name: str
    make: Callable[[], Any]
    reference: Callable[[Any], TimedReference]
    points: Callable[[], np.ndarray]
    tolerances: dict[str, float] = field(default_factory=dict)
    band: Callable[[np.ndarray], np.ndarray] | None = None
    line: Callable[[], np.ndarray] | None = None
    line_axis: int = 0
    line_label: str = "x0"
    settings: FiniteHorizonSettings = FINITE_HORIZON_SETTINGS
    kind = "timed"

    def __post_init__(self):
        check_tolerances(self.name, self.tolerances, METRICS)

    def cost(self) -> float:
        """≈ seconds on one core (fit_seconds) at the problem's d + 1 inputs."""
        s = self.settings
        return fit_seconds(s.collocation, self.make().state_dim + 1, s.width, s)

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: name, kind, the problem's description, tolerances."""
        return {"name": self.name, "kind": self.kind, "problem": self.make().describe(),
                "tolerances": dict(self.tolerances)}

    def run(self, seed: int | None = None, progress: bool = True) -> dict:
        """Solve (never seeing the closed form), then measure."""
        from hjb.progress import Progress
        from hjb.solvers.finite_horizon import solve_finite_horizon

        settings = self.settings if seed is None else self.settings.replace(seed=seed)
        problem = self.make()
        start = time.perf_counter()
        solution = solve_finite_horizon(problem, settings, Progress(settings.max_iterations, enabled=progress,
                                                                    label=self.name))
        seconds = time.perf_counter() - start
        reference, xt = self.reference(problem), self.points()
        value, exact = solution.value(xt), np.asarray(reference.value(xt), dtype=float)
        policy = np.asarray(reference.policy(xt), dtype=float).reshape(len(xt), -1)
        metrics = {"value_rel_l2": rel_l2(value, exact),
                   "policy_rel_l2": columnwise_rel_l2(solution.action(xt), policy), "band_max_error": None}
        if self.band is not None:
            mask = np.asarray(self.band(xt), dtype=bool)
            metrics["band_max_error"] = float(np.max(np.abs(value - exact)[mask]) / np.max(np.abs(exact)))
        line = xt if self.line is None else self.line()
        history = solution.history
        return {**self.describe(), "settings": settings.to_dict(), **metrics, "iterations": solution.iterations,
                "final_hjb_residual_rms": history[-1]["hjb_residual_relative"] if history else None,
                "seconds": seconds, "status": solution.status, "error": None,
                "passed": passed(metrics, self.tolerances),
                "arrays": {"line": line[:, self.line_axis], "value": solution.value(line),
                           "value_reference": np.asarray(reference.value(line), dtype=float),
                           "label": self.line_label, "history": history}}


class AtSpaceTime:
    """A reference with value(x, t) and policy(x, t) read at space-time points xt (n, d + 1), time last."""

    def __init__(self, reference):
        self.reference = reference

    def value(self, xt: np.ndarray) -> np.ndarray:
        """V (n,) at xt (n, d + 1)."""
        return self.reference.value(xt[:, :-1], xt[:, -1])

    def policy(self, xt: np.ndarray) -> np.ndarray:
        """α* (n, m) at xt (n, d + 1)."""
        return self.reference.policy(xt[:, :-1], xt[:, -1])
