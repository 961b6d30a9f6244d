"""The hjb_lqg100d case: DeepBSDE's HJB-LQ (hjb.pdes.hjb_lqg) solved by hjb's finite-horizon solver at each λ,
against the exact u (hjb.validation.hjb_lqg): |u(0, 0) − ref|/ref and the rel L2 of u(0, ·) over x ~ N(0, I)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hjb.settings import FiniteHorizonSettings
from hjb.validation.cases import check_tolerances, passed

METRICS = ("u00_rel_error", "rel_l2")
NORMAL_POINTS = 1000
NORMAL_SEED = 20_261_201
SLICE = np.linspace(-3.0, 3.0, 61)


def uniform_radius_law(d: int):
    """X_0 = U·Z, U ~ U(0, 1), Z ~ N(0, I_d) (n, d): paths from 0 and from typical points of N(0, I), which is where
    the case measures u(0, ·)."""

    def law(n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(size=(n, 1)) * rng.standard_normal((n, d))

    return law


def measure(value, d: int, lam: float) -> dict:
    """u = −V at (0, 0) and at NORMAL_POINTS x ~ N(0, I_d) at t = 0 against the exact u; value(xt) (n,) at space-time
    points (n, d + 1). Returns the two metrics, u(0, 0) and its reference."""
    from hjb.validation.hjb_lqg import hjb_lqg_value

    x = np.random.default_rng(NORMAL_SEED).standard_normal((NORMAL_POINTS, d))
    points = np.concatenate([np.zeros((1, d)), x])
    u = -value(np.c_[points, np.zeros(len(points))])
    exact = hjb_lqg_value(0.0, points, lam)
    return {"u00": float(u[0]), "u00_reference": float(exact[0]),
            "u00_rel_error": float(abs(u[0] - exact[0]) / abs(exact[0])),
            "rel_l2": float(np.linalg.norm(u[1:] - exact[1:]) / np.linalg.norm(exact[1:]))}


@dataclass(frozen=True)
class HJBLQGCase:
    """Solve hjb_lqg(dim, λ) for each λ in `lams` with `settings`, X_0 ~ uniform_radius_law (a fact of where the case
    measures, not a solver knob); each metric is the worst over the λs."""

    name: str
    dim: int
    lams: tuple[float, ...]
    settings: FiniteHorizonSettings
    tolerances: dict[str, float] = field(default_factory=dict)
    kind = "hjb_lqg"

    def __post_init__(self):
        check_tolerances(self.name, self.tolerances, METRICS)

    def cost(self) -> float:
        """≈ seconds on one core: 450 s per λ at d = 100 (12 PI iterations at the defaults, measured), ∝ d."""
        return 4.5 * self.dim * len(self.lams)

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: name, kind, dimension, λs, tolerances."""
        return {"name": self.name, "kind": self.kind, "dim": self.dim, "lams": list(self.lams),
                "tolerances": dict(self.tolerances)}

    def run(self, seed: int | None = None, progress: bool = True) -> dict:
        """Solve at each λ (never seeing the reference), then measure u(0, ·) against it."""
        from hjb.pdes.hjb_lqg import hjb_lqg
        from hjb.progress import Progress
        from hjb.solvers.finite_horizon import solve_finite_horizon
        from hjb.validation.hjb_lqg import hjb_lqg_value

        settings = self.settings if seed is None else self.settings.replace(seed=seed)
        per_lam, curves, references, histories, statuses, seconds = [], [], [], [], [], 0.0
        line = np.zeros((len(SLICE), self.dim))
        line[:, 0] = SLICE
        for lam in self.lams:
            problem = hjb_lqg(self.dim, lam, name=self.name)
            problem.initial_law = uniform_radius_law(self.dim)
            start = time.perf_counter()
            solution = solve_finite_horizon(problem, settings, Progress(settings.max_iterations, enabled=progress,
                                                                        label=f"{self.name} λ={lam:g}"))
            seconds += time.perf_counter() - start
            per_lam.append({"lam": lam, **measure(solution.value, self.dim, lam), "status": solution.status,
                            "iterations": solution.iterations})
            curves.append(-solution.value(np.c_[line, np.zeros(len(line))]))
            references.append(hjb_lqg_value(0.0, line, lam))
            histories.append(solution.history)
            statuses.append(solution.status)
        metrics = {key: max(r[key] for r in per_lam) for key in METRICS}
        status = "converged" if all(s == "converged" for s in statuses) else "not_converged"
        return {
            **self.describe(), "settings": settings.to_dict(), "per_lambda": per_lam, **metrics,
            "iterations": max(r["iterations"] for r in per_lam), "seconds": seconds, "status": status,
            "error": None, "passed": passed(metrics, self.tolerances),
            "arrays": {"x": SLICE.reshape(-1, 1), "lams": list(self.lams), "u": curves, "u_reference": references,
                       "history": histories[-1]},
        }
