"""The closed form of hjb.pdes.exit_time: V(x) = (1 − cosh(κx)/cosh(κL))/ρ, κ = √(2ρ)/σ, and the fixed action 0."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hjb.errors import ProblemError


@dataclass(frozen=True)
class ExitTimeSolution:
    """V and the (fixed, zero) action of the discounted exit time of σW from [−L, L]."""

    sigma: float
    discount: float
    half_width: float

    @property
    def kappa(self) -> float:
        """κ = √(2ρ)/σ, the rate of the solutions e^{±κx} of ρV = ½σ²V″."""
        return math.sqrt(2.0 * self.discount) / self.sigma

    def value(self, x: np.ndarray) -> np.ndarray:
        """V(x) = (1 − cosh(κx)/cosh(κL))/ρ (n,) for x (n, 1)."""
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != 1:
            raise ProblemError(f"exit_time reference takes points of shape (n, 1); got {x.shape}")
        k, L = self.kappa, self.half_width
        # cosh(κx)/cosh(κL) = e^{κ(|x|−L)}(1 + e^{−2κ|x|})/(1 + e^{−2κL}): no overflow for large κL
        with np.errstate(under="ignore"):  # e^{−large} is 0 to double precision
            ratio = (np.exp(k * (np.abs(x[:, 0]) - L)) * (1.0 + np.exp(-2.0 * k * np.abs(x[:, 0])))
                     / (1.0 + np.exp(-2.0 * k * L)))
        return (1.0 - ratio) / self.discount

    def policy(self, x: np.ndarray) -> np.ndarray:
        """The one admissible action a ≡ 0 (n, 1)."""
        return np.zeros((np.asarray(x).shape[0], 1))


def exit_time_solution(problem) -> ExitTimeSolution:
    """The closed form for an hjb.pdes.exit_time problem (its parameters sigma, discount, half_width)."""
    p = problem.parameters
    return ExitTimeSolution(float(p["sigma"]), float(p["discount"]), float(p["half_width"]))
