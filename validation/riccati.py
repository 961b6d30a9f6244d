"""Closed form of the discounted stochastic LQR: V(x) = −½xᵀPx − c, a*(x) = −Kx."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_continuous_are

from hjb.errors import ProblemError


@dataclass(frozen=True)
class RiccatiSolution:
    """P (d, d) of the discounted ARE, gain K = R⁻¹BᵀP (m, d), constant c = Tr(DᵀPD)/(2ρ)."""

    P: np.ndarray
    K: np.ndarray
    c: float

    def value(self, x: np.ndarray) -> np.ndarray:
        """V(x) = −½ xᵀPx − c (n,) for x (n, d)."""
        return -0.5 * np.einsum("ni,ij,nj->n", x, self.P, x) - self.c

    def policy(self, x: np.ndarray) -> np.ndarray:
        """a*(x) = −Kx (n, m) for x (n, d)."""
        return -x @ self.K.T


def discounted_riccati(A, B, Q, R, D, discount: float) -> RiccatiSolution:
    """Solve (A − ρ/2 I)ᵀP + P(A − ρ/2 I) − PBR⁻¹BᵀP + Q = 0 for the stabilising P ⪰ 0."""
    A, B, Q, R, D = (np.atleast_2d(np.asarray(M, dtype=float)) for M in (A, B, Q, R, D))
    if discount <= 0:
        raise ProblemError(f"discount must be a positive number (ρ > 0); got {discount}")
    shifted = A - 0.5 * discount * np.eye(A.shape[0])
    try:
        P = solve_continuous_are(shifted, B, Q, R)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise ProblemError(f"the discounted Riccati equation has no stabilising solution: {exc}") from None
    P = 0.5 * (P + P.T)
    K = np.linalg.solve(R, B.T @ P)
    c = float(np.trace(D.T @ P @ D) / (2.0 * discount))
    return RiccatiSolution(P=P, K=K, c=c)


def lqr_solution(problem) -> RiccatiSolution:
    """The Riccati solution of a StochasticLQR problem (its matrices and discount)."""
    return discounted_riccati(problem.A, problem.B, problem.Q, problem.R, problem.D, problem.discount)
