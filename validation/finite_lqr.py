"""Closed form of the finite-horizon stochastic LQR: V(t, x) = −½xᵀP(t)x − c(t), a*(t, x) = −R⁻¹BᵀP(t)x.

The problem maximises E[∫_t^T e^{−ρ(s−t)} (−½)(XᵀQ(s)X + aᵀRa) ds − e^{−ρ(T−t)} ½X_TᵀGX_T] over a, with
dX = (AX + Ba) dt + D dW, discount ρ ≥ 0 and Q(s) = w(s)·Q (w ≡ 1 unless a weight is given); P and c solve the
backward Riccati ODE −P' = AᵀP + PA − PBR⁻¹BᵀP + w(t)Q − ρP, P(T) = G, and −c' = ½Tr(DᵀPD) − ρc, c(T) = 0,
integrated by scipy's solve_ivp to rtol = atol = 1e-12.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

from hjb.errors import ProblemError
from hjb.pdes.matrices import matrix, square, symmetric


class FiniteHorizonRiccati:
    """P(t) (d, d) and c(t) on [start, horizon] for A (d, d), B (d, m), Q (d, d), R (m, m) ≻ 0, D (d, k), G (d, d),
    discount ρ ≥ 0 and weight w(t) (a float; None for w ≡ 1)."""

    def __init__(self, A, B, Q, R, D, G, horizon: float, start: float = 0.0, discount: float = 0.0,
                 weight=None):
        A = square(A, "A")
        d = A.shape[0]
        B = matrix(B, "B", rows=d, column=True)
        m = B.shape[1]
        Q = symmetric(matrix(Q, "Q", d, d), "Q")
        R = symmetric(matrix(R, "R", m, m), "R", "positive")  # a strictly concave running reward
        D = matrix(D, "D", rows=d, column=True)
        G = symmetric(matrix(G, "G", d, d), "G")
        if not (math.isfinite(start) and math.isfinite(horizon) and horizon > start):
            raise ProblemError(f"the time interval must be finite with start < horizon; got [{start}, {horizon}]")
        self.A, self.B, self.Q, self.R, self.D, self.G = A, B, Q, R, D, G
        self.start, self.horizon, self.dim = float(start), float(horizon), d
        self.discount, self.weight = float(discount), weight
        self._BRB = B @ np.linalg.solve(R, B.T)
        self._DDt = D @ D.T
        y_T = np.concatenate([G.ravel(), [0.0]])
        sol = solve_ivp(self._rhs, (self.horizon, self.start), y_T, method="DOP853",
                        rtol=1e-12, atol=1e-12, dense_output=True)
        if not sol.success:
            raise ProblemError(f"the Riccati ODE could not be integrated on [{start}, {horizon}]: {sol.message}")
        self._sol = sol.sol

    def __repr__(self) -> str:
        return f"FiniteHorizonRiccati(d={self.dim}, m={self.B.shape[1]}, t ∈ [{self.start}, {self.horizon}])"

    def _riccati(self, P: np.ndarray, t) -> np.ndarray:
        """AᵀP + PA − PBR⁻¹BᵀP + w(t)Q − ρP (…, d, d) for P (…, d, d) and t a float or (…,)."""
        AtP = self.A.T @ P
        w = 1.0 if self.weight is None else np.reshape(self.weight(t), np.shape(t) + (1, 1))
        return AtP + np.swapaxes(AtP, -1, -2) - P @ self._BRB @ P + w * self.Q - self.discount * P

    def _rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        d = self.dim
        P = y[: d * d].reshape(d, d)
        P = 0.5 * (P + P.T)
        dc = -0.5 * np.sum(self._DDt * P) + self.discount * y[d * d]
        return np.concatenate([-self._riccati(P, t).ravel(), [dc]])

    def _state(self, t) -> tuple[np.ndarray, np.ndarray, bool]:
        """P (n, d, d) and c (n,) at t (n,) or a scalar (then n = 1 and the flag is True)."""
        t_arr = np.asarray(t, dtype=float)
        scalar = t_arr.ndim == 0
        t_arr = np.atleast_1d(t_arr).ravel()
        if not np.all(np.isfinite(t_arr)) or t_arr.min() < self.start or t_arr.max() > self.horizon:
            raise ProblemError(
                f"t must lie in [{self.start}, {self.horizon}]; got values in [{t_arr.min()}, {t_arr.max()}]"
            )
        y = self._sol(t_arr)  # (d² + 1, n)
        d = self.dim
        P = y[: d * d].T.reshape(-1, d, d)
        return 0.5 * (P + np.swapaxes(P, 1, 2)), y[d * d], scalar

    def P(self, t) -> np.ndarray:
        """P(t): (d, d) for a scalar t, (n, d, d) for t (n,)."""
        P, _, scalar = self._state(t)
        return P[0] if scalar else P

    def c(self, t) -> float | np.ndarray:
        """c(t) = ½∫_t^T e^{−ρ(s−t)} Tr(DᵀP(s)D) ds: a float for a scalar t, (n,) for t (n,)."""
        _, c, scalar = self._state(t)
        return float(c[0]) if scalar else c

    def dPdt(self, t) -> np.ndarray:
        """P'(t) = −(AᵀP + PA − PBR⁻¹BᵀP + w(t)Q − ρP) at P = P(t): (d, d) for a scalar t, (n, d, d) for t (n,)."""
        P, _, scalar = self._state(t)
        dP = -self._riccati(P, np.atleast_1d(np.asarray(t, dtype=float)).ravel())
        return dP[0] if scalar else dP

    def dcdt(self, t) -> float | np.ndarray:
        """c'(t) = −½Tr(DᵀP(t)D) + ρc(t): a float for a scalar t, (n,) for t (n,)."""
        P, c, scalar = self._state(t)
        dc = -0.5 * np.einsum("ij,nij->n", self._DDt, P) + self.discount * c
        return float(dc[0]) if scalar else dc

    def _pair(self, x, t) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = np.asarray(x, dtype=float)
        if x.ndim == 1 and self.dim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ProblemError(f"x must be an (n, {self.dim}) array; got shape {x.shape}")
        t_arr = np.asarray(t, dtype=float)
        if t_arr.ndim == 0:
            P, c, _ = self._state(t_arr)
            return x, np.broadcast_to(P, (x.shape[0], self.dim, self.dim)), np.broadcast_to(c, x.shape[:1])
        if t_arr.ravel().shape != x.shape[:1]:
            raise ProblemError(f"t must be a scalar or ({x.shape[0]},) to match x; got shape {t_arr.shape}")
        P, c, _ = self._state(t_arr.ravel())
        return x, P, c

    def value(self, x, t) -> np.ndarray:
        """V(t, x) = −½xᵀP(t)x − c(t), (n,) for x (n, d) and t scalar or (n,)."""
        x, P, c = self._pair(x, t)
        return -0.5 * np.einsum("ni,nij,nj->n", x, P, x) - c

    def policy(self, x, t) -> np.ndarray:
        """a*(t, x) = −R⁻¹BᵀP(t)x, (n, m) for x (n, d) and t scalar or (n,)."""
        x, P, _ = self._pair(x, t)
        return -np.linalg.solve(self.R, self.B.T @ np.einsum("nij,nj->in", P, x)).T
