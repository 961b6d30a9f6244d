"""Closed form of Merton's problem: π* = (μ − r_f)/(γσ²), k* = (ρ − (1−γ)M)/γ, V = A x^{1−γ}/(1−γ)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hjb.pdes.merton import check_merton_parameters, merton_growth


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


def merton_closed_form(r_f: float, mu: float, sigma: float, gamma: float, discount: float) -> MertonSolution:
    """π*, k* and A from the power-law ansatz; ProblemError when ρ − (1−γ)M ≤ 0."""
    check_merton_parameters(r_f, mu, sigma, gamma, discount)
    gap = discount - (1.0 - gamma) * merton_growth(r_f, mu, sigma, gamma)
    return MertonSolution(
        pi=(mu - r_f) / (gamma * sigma**2), k=gap / gamma, A=(gamma / gap) ** gamma, gamma=gamma
    )


def merton_solution(problem) -> MertonSolution:
    """The closed form of a Merton problem instance."""
    return merton_closed_form(problem.r_f, problem.mu, problem.sigma, problem.gamma, problem.discount)
