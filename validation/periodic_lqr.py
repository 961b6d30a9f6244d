"""Closed form of the time-periodic discounted LQR (hjb.pdes.timed_lqr.periodic_lqr): V(t, x) = −½xᵀP(t)x − c(t),
a*(t, x) = −R⁻¹BᵀP(t)x, with P and c the τ-periodic solutions of −P' = AᵀP + PA − PBR⁻¹BᵀP + w(t)Q − ρP and
−c' = ½Tr(DᵀPD) − ρc, w(t) = 1 + ε sin(2πt/τ).

P is found by integrating the Riccati ODE backward one period at a time (hjb.validation.finite_lqr) until P(0)
repeats P(τ); c's equation is linear, so its periodic solution is exact: c(t) = c₀(t) + e^{−ρ(τ−t)}·c(τ) with c₀ the
solution with c₀(τ) = 0 and c(τ) = c(0) = c₀(0)/(1 − e^{−ρτ}).
"""
from __future__ import annotations

import numpy as np

from hjb.errors import ProblemError
from hjb.validation.finite_lqr import FiniteHorizonRiccati

MAX_PERIODS = 1000
REPEAT_TOL = 1e-12


class PeriodicRiccati:
    """P(t) (d, d) and c(t) for t ∈ [0, τ], the periodic solution, for the periodic LQR's matrices A, B, Q, R, D,
    discount ρ > 0, period τ and amplitude ε (w(t) = 1 + ε sin(2πt/τ))."""

    def __init__(self, A, B, Q, R, D, discount: float, period: float, amplitude: float):
        def weight(t):
            return 1.0 + amplitude * np.sin(2.0 * np.pi * np.asarray(t) / period)

        A = np.atleast_2d(np.asarray(A, dtype=float))
        P = np.zeros_like(A)
        repeated, periods = False, 0
        while not repeated:
            if periods == MAX_PERIODS:
                raise ProblemError(f"the periodic Riccati solution did not repeat within {MAX_PERIODS} periods")
            riccati = FiniteHorizonRiccati(A, B, Q, R, D, P, horizon=period, discount=discount, weight=weight)
            start, periods = riccati.P(0.0), periods + 1
            repeated = np.max(np.abs(start - P)) <= REPEAT_TOL * max(1.0, np.max(np.abs(start)))
            P = 0.5 * (start + start.T)
        self.riccati, self.periods, self.period, self.discount = riccati, periods, float(period), float(discount)
        self.c_end = riccati.c(0.0) / (1.0 - np.exp(-discount * period))

    def c(self, t) -> np.ndarray:
        """c(t) (n,) for t (n,) in [0, τ]."""
        t = np.asarray(t, dtype=float).ravel()
        return self.riccati.c(t) + np.exp(-self.discount * (self.period - t)) * self.c_end

    def value(self, xt: np.ndarray) -> np.ndarray:
        """V(t, x) = −½xᵀP(t)x − c(t) (n,) at space-time points xt (n, d + 1)."""
        x, t = xt[:, :-1], xt[:, -1]
        return -0.5 * np.einsum("ni,nij,nj->n", x, self.riccati.P(t), x) - self.c(t)

    def policy(self, xt: np.ndarray) -> np.ndarray:
        """a*(t, x) = −R⁻¹BᵀP(t)x (n, m) at space-time points xt (n, d + 1)."""
        return self.riccati.policy(xt[:, :-1], xt[:, -1])
