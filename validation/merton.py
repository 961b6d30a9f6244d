"""Closed form of Merton's problem: π* = clip((μ − r_f)/(γσ²), π_lo, π_hi), k* = (ρ − (1−γ)M(π*))/γ,
V = A x^{1−γ}/(1−γ), with M(π) = r_f + π(μ − r_f) − ½γπ²σ²."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hjb.errors import ProblemError
from hjb.pdes.merton import check_merton_parameters


@dataclass(frozen=True)
class MertonSolution:
    """Optimal risky fraction π*, consumption rate k*, value coefficient A, risk aversion γ."""

    pi: float
    k: float
    A: float
    gamma: float

    def value(self, x: np.ndarray) -> np.ndarray:
        """V(x) = A x^{1−γ} / (1−γ) (n,) for wealth x (n, 1)."""
        return self.A * x[:, 0] ** (1.0 - self.gamma) / (1.0 - self.gamma)

    def policy(self, x: np.ndarray) -> np.ndarray:
        """The constant optimal action (π*, k*) (n, 2)."""
        return np.tile([self.pi, self.k], (x.shape[0], 1))


def merton_closed_form(
    r_f: float,
    mu: float,
    sigma: float,
    gamma: float,
    discount: float,
    pi_bounds: tuple[float, float] | None = None,
    k_bounds: tuple[float, float] | None = None,
) -> MertonSolution:
    """π*, k* and A from the power-law ansatz, π* clipped into pi_bounds; ProblemError when ρ − (1−γ)M(π*) ≤ 0
    or k* leaves k_bounds.

    The Hamiltonian is x^{1−γ}·(concave quadratic in π) + (function of k alone), so the bounded argmax in π is
    the clipped unconstrained one and k* keeps its first-order condition while it is interior. The
    unconstrained problem must be feasible as well (as `Merton` requires).
    """
    check_merton_parameters(r_f, mu, sigma, gamma, discount)
    pi = (mu - r_f) / (gamma * sigma**2)
    if pi_bounds is not None:
        pi = float(np.clip(pi, *_interval("pi_bounds", pi_bounds)))
    growth = r_f + pi * (mu - r_f) - 0.5 * gamma * pi**2 * sigma**2
    gap = discount - (1.0 - gamma) * growth
    if gap <= 0:
        raise ProblemError(
            f"infeasible Merton parameters at π* = {pi:.6g}: ρ − (1−γ)M(π*) = {gap:.6g} ≤ 0, lifetime utility is "
            "infinite; expected a larger discount or risk aversion"
        )
    k = gap / gamma
    if k_bounds is not None:
        k_lo, k_hi = _interval("k_bounds", k_bounds)
        if not k_lo <= k <= k_hi:
            raise ProblemError(
                f"Merton's optimal consumption rate k* = {k:.6g} lies outside the k bounds [{k_lo:.6g}, {k_hi:.6g}]; "
                "the closed form needs k* inside them"
            )
    return MertonSolution(pi=pi, k=k, A=(gamma / gap) ** gamma, gamma=gamma)


def _interval(name: str, bounds) -> tuple[float, float]:
    try:
        lo, hi = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ProblemError(f"{name} must be (low, high) numbers; got {bounds!r}") from None
    if math.isnan(lo) or math.isnan(hi) or lo > hi:
        raise ProblemError(f"{name} must be (low, high) with low ≤ high; got {bounds!r}")
    return lo, hi


def merton_solution(problem) -> MertonSolution:
    """The closed form of a Merton problem instance, within its action bounds on (π, k) when it has them."""
    bounds = problem.action_bounds
    pi_bounds = k_bounds = None
    if bounds is not None:
        (pi_lo, k_lo), (pi_hi, k_hi) = (np.asarray(b, dtype=float) for b in bounds)
        pi_bounds, k_bounds = (pi_lo, pi_hi), (k_lo, k_hi)
    return merton_closed_form(
        problem.r_f, problem.mu, problem.sigma, problem.gamma, problem.discount, pi_bounds, k_bounds
    )
