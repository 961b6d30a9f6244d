"""Fokker–Planck validation cases: the law of a linear SDE from a Gaussian start (Gaussian marginals), and the
stationary law of an LQR under the policy the HJB solver learned (Lyapunov covariance of the optimal closed loop)."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hjb.geometry.box import Box
from hjb.pdes.lqr import StochasticLQR
from hjb.settings import FokkerPlanckSettings, SolverSettings
from hjb.validation.cases import check_tolerances, fit_seconds, passed
from hjb.validation.gaussian import GaussianLaw, gaussian_marginal, stationary_covariance
from hjb.validation.metrics import rel_l2

METRICS = ("density_rel_l2", "mass_error", "negative_density_ratio")


def _density_metrics(p: list[np.ndarray], exact: list[np.ndarray], masses: list[float], times=None) -> dict:
    """Worst rel L2 of p against the closed form over the times (and each, when `times` are given), worst
    |∫p − 1|, and max(0, −min p)/max p (the issue's min p ≥ −1e-3·max p, as a quantity at most 1e-3)."""
    errors = [rel_l2(a, b) for a, b in zip(p, exact, strict=True)]
    every = np.concatenate(p)
    metrics = {
        "density_rel_l2": max(errors),
        "mass_error": max(abs(m - 1.0) for m in masses),
        "negative_density_ratio": max(0.0, -float(every.min())) / float(every.max()),
    }
    if times is not None:
        metrics["density_rel_l2_by_time"] = {f"{t:g}": e for t, e in zip(times, errors, strict=True)}
        metrics["mass_by_time"] = {f"{t:g}": m for t, m in zip(times, masses, strict=True)}
    return metrics


@dataclass(frozen=True)
class FokkerPlanckCase:
    """The law p(x, t) of dX = AX dt + D dW (an LQR under its initial policy a ≡ 0, `problem_factory()`) from
    X_0 ~ N(mean0, cov0), solved by PINN on box × [0, horizon]; closed form N(m_t, S_t) (mean/covariance ODEs)
    at `times`, on box.grid(grid_points)."""

    name: str
    problem_factory: Callable[[], StochasticLQR]
    mean0: tuple[float, ...]
    cov0: tuple[tuple[float, ...], ...]
    box: Box
    horizon: float
    times: tuple[float, ...]
    settings: FokkerPlanckSettings
    grid_points: int
    tolerances: dict[str, float] = field(default_factory=dict)
    kind = "fokker_planck"

    def __post_init__(self):
        check_tolerances(self.name, self.tolerances, METRICS)

    def cost(self) -> float:
        """≈ seconds on one core: one fit on (x, t) (fit_seconds)."""
        s = self.settings
        return fit_seconds(s.collocation, self.box.dim + 1, s.width, s)

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: name, kind, box, horizon, times, tolerances."""
        return {"name": self.name, "kind": self.kind, "box": self.box.to_dict(), "horizon": self.horizon,
                "times": list(self.times), "tolerances": dict(self.tolerances)}

    def run(self, seed: int | None = None, progress: bool = True) -> dict:
        """Solve log p by PINN, then compare p with the Gaussian marginal at each time."""
        from hjb.geometry.spacetime import SpaceTime
        from hjb.pdes.data_laws import GaussianMixture
        from hjb.pdes.fokker_planck import closed_loop
        from hjb.progress import Progress
        from hjb.solvers.density import solve_fokker_planck

        settings = self.settings if seed is None else self.settings.replace(seed=seed)
        problem = self.problem_factory()
        domain = SpaceTime(self.box, self.horizon)
        initial = GaussianMixture([1.0], [self.mean0], [self.cov0])
        start = time.perf_counter()
        solution = solve_fokker_planck(closed_loop(problem, problem.initial_policy), initial.log_density, domain,
                                       settings, Progress(1, enabled=progress, label=self.name))
        seconds = time.perf_counter() - start
        x = self.box.grid(self.grid_points)
        p = [solution.density(domain.at_time(x, t)) for t in self.times]
        laws = [GaussianLaw(*gaussian_marginal(problem.A, problem.D, self.mean0, self.cov0, t)) for t in self.times]
        exact = [law.density(x) for law in laws]
        masses = [solution.mass(t) for t in self.times]
        metrics = _density_metrics(p, exact, masses, self.times)
        line = self.box.grid(201) if self.box.dim == 1 else x
        return {
            **self.describe(), "problem": problem.describe(), "settings": settings.to_dict(),
            "grid_points": self.grid_points, **metrics, "seconds": seconds, "status": "trained", "error": None,
            "passed": passed(metrics, self.tolerances),
            "arrays": {"x": line, "times": list(self.times),
                       "density": [solution.density(domain.at_time(line, t)) for t in self.times],
                       "density_reference": [law.density(line) for law in laws], "history": solution.history},
        }


@dataclass(frozen=True)
class StationaryLawCase:
    """The stationary law of an LQR under the greedy policy of its HJB solution (hjb_settings), solved by PINN
    on `box` (fp_settings) through that learned policy; closed form N(0, S), S the Lyapunov covariance of the
    optimal closed loop A − BK (Riccati K), on box.grid(grid_points)."""

    name: str
    problem_factory: Callable[[], StochasticLQR]
    hjb_settings: SolverSettings
    fp_settings: FokkerPlanckSettings
    box: Box
    grid_points: int
    tolerances: dict[str, float] = field(default_factory=dict)
    kind = "fokker_planck"

    def __post_init__(self):
        check_tolerances(self.name, self.tolerances, METRICS)

    def cost(self) -> float:
        """≈ seconds on one core: the HJB solve plus the stationary density fit (fit_seconds)."""
        h, f, d = self.hjb_settings, self.fp_settings, self.box.dim
        return fit_seconds(h.collocation, d, h.width, h) + fit_seconds(f.collocation, d, f.width, f)

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: name, kind, box, tolerances."""
        return {"name": self.name, "kind": self.kind, "box": self.box.to_dict(), "tolerances": dict(self.tolerances)}

    def run(self, seed: int | None = None, progress: bool = True) -> dict:
        """Solve the HJB, then the stationary Fokker–Planck equation under its learned policy; compare with N(0, S)."""
        from hjb.io.plots import plot_grid
        from hjb.pdes.fokker_planck import closed_loop
        from hjb.progress import Progress
        from hjb.solvers.density import differentiable_policy, solve_stationary_fokker_planck
        from hjb.solvers.discounted import solve
        from hjb.validation.riccati import lqr_solution

        hjb_settings, fp_settings = ((s if seed is None else s.replace(seed=seed))
                                     for s in (self.hjb_settings, self.fp_settings))
        problem = self.problem_factory()
        start = time.perf_counter()
        control = solve(problem, hjb_settings, Progress(hjb_settings.max_iterations, enabled=progress, label=self.name))
        law = solve_stationary_fokker_planck(closed_loop(problem, differentiable_policy(control.policy)), self.box,
                                             fp_settings, Progress(1, enabled=progress, label=self.name))
        seconds = time.perf_counter() - start
        riccati = lqr_solution(problem)
        exact = GaussianLaw(np.zeros(problem.state_dim), stationary_covariance(problem.A - problem.B @ riccati.K, problem.D))
        x = self.box.grid(self.grid_points)
        metrics = _density_metrics([law.density(x)], [exact.density(x)], [law.mass(self.grid_points)])
        plot = plot_grid(self.box)
        return {
            **self.describe(), "problem": problem.describe(), "settings": fp_settings.to_dict(),
            "hjb_settings": hjb_settings.to_dict(), "grid_points": self.grid_points, **metrics,
            "hjb_value_rel_l2": rel_l2(control.value(x), riccati.value(x)),
            "hjb_iterations": control.iterations, "seconds": seconds, "status": control.status, "error": None,
            "passed": passed(metrics, self.tolerances),
            "arrays": {"plot_grid": plot, "density": law.density(plot.x), "density_reference": exact.density(plot.x),
                       "history": law.history},
        }
