"""Closed form of the entropy-regularised (exploratory) discounted LQR, the reference of continuous-time q-learning
(Jia & Zhou, JMLR 2023).

Problem: dX = (AX + Ba) dt + D dW, r(x, a) = −½(xᵀQx + aᵀRa) (hjb's StochasticLQR), a ~ π(·|X_t) a stochastic
policy, temperature γ > 0; maximise E ∫_0^∞ e^{−ρt} [r(X_t, a_t) − γ log π(a_t|X_t)] dt. The HJB is
    ρV(x) = sup_π ∫ (H(x, a) − γ log π(a)) π(a) da,    H(x, a) = r(x, a) + L^a V(x) = r + ∇V·(Ax + Ba) + ½Tr(DDᵀ∇²V).

Derivation. For any law π, ∫(H − γ log π)π da = γ log Z − γ KL(π ‖ π_H) with Z = ∫exp(H/γ) da and π_H = exp(H/γ)/Z
(Gibbs), so the sup is γ log Z, attained at π* ∝ exp(H/γ). Try V = −½xᵀPx − c_γ: since D does not depend on a,
H is quadratic in a with Hessian −R, H(x, a) = H(x, −Kx) − ½(a + Kx)ᵀR(a + Kx), K = R⁻¹BᵀP, hence
    π*(·|x) = N(−Kx, γR⁻¹),    γ log Z = H(x, −Kx) + (γ/2) ln det(2πγR⁻¹).
The x-dependent part of ρV = H(x, −Kx) + (γ/2) ln det(2πγR⁻¹) is the ordinary discounted Riccati equation, so P and
the gain K are those without entropy (hjb.validation.riccati); only the constant moves:
    V_γ(x) = V_0(x) + (γ/2ρ) ln det(2πγR⁻¹),    V_0 = −½xᵀPx − Tr(DᵀPD)/(2ρ).
The two pieces the shift is made of: the entropy γ·½ ln det(2πeγR⁻¹) = (γ/2)(ln det(2πγR⁻¹) + m) of π*, and the
exploration cost −½E[(a + Kx)ᵀR(a + Kx)] = −½Tr(R·γR⁻¹) = −γm/2; their sum is (γ/2) ln det(2πγR⁻¹), then /ρ.
The shift is negative when det(2πγR⁻¹) < 1: a costly action (R large against 2πγ) pays more for its spread than
its entropy earns.

Jia–Zhou's optimal q-function is q(x, a) = H(x, a) − ρV_γ(x) = −½(a + Kx)ᵀR(a + Kx) − (γ/2) ln det(2πγR⁻¹)
= γ log π*(a|x): it satisfies ∫exp(q/γ) da = 1 and π* = exp(q/γ).

Conventions. The issue writes the scalar case as π* = N(−Kx, γ/r_a) and the shift (γ/2ρ) ln(2πγ/r_a): that is this
closed form with r_a = R, the coefficient of −½a² (the seed's r_a = 0.1 is hjb's R = 0.1, MATH.md §2), so the
shift agrees with it exactly, with no extra constant. A reward written −c_a a² without the ½ (the double integrator's
−0.1a²) has R = r_a = 2c_a = 0.2, and variance γ/(2c_a).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hjb.errors import ProblemError, ShapeError, positive
from hjb.pdes.matrices import matrix, square, symmetric
from hjb.validation.riccati import RiccatiSolution, discounted_riccati

MATRICES = ("A", "B", "Q", "R", "D", "discount")


class EntropyLQR:
    """The entropy-regularised LQR at temperature γ > 0 for `lqr`: a StochasticLQR, or a mapping with its matrices
    A (d, d), B (d, m), Q (d, d), R (m, m), D (d, k) and discount ρ (a StochasticLQR's `parameters`); a problem
    with action bounds is refused (π* is a Gaussian on all of R^m).

    π*(·|x) = N(−Kx, γR⁻¹), V_γ(x) = −½xᵀPx − Tr(DᵀPD)/(2ρ) + value_shift, value_shift = (γ/2ρ) ln det(2πγR⁻¹),
    q(x, a) = r + L^a V_γ − ρV_γ = γ log π*(a|x); P, K = R⁻¹BᵀP from hjb.validation.riccati (the module docstring
    derives them). State x (n, d), action a (n, m).
    """

    def __init__(self, lqr, temperature: float):
        A, B, Q, R, D, rho = _matrices(lqr)
        self.temperature = positive(temperature, "temperature must be a number > 0 (γ > 0)")
        self.A, self.B, self.Q, self.R, self.D, self.discount = A, B, Q, R, D, rho
        self.riccati: RiccatiSolution = discounted_riccati(A, B, Q, R, D, rho)
        covariance = self.temperature * np.linalg.inv(R)
        self._covariance = 0.5 * (covariance + covariance.T)
        self._log_det = float(np.linalg.slogdet(2.0 * np.pi * self._covariance)[1])  # ln det(2πγR⁻¹), R ≻ 0
        self.value_shift = self.temperature * self._log_det / (2.0 * rho)

    @property
    def state_dim(self) -> int:
        """d."""
        return self.A.shape[0]

    @property
    def action_dim(self) -> int:
        """m."""
        return self.B.shape[1]

    def gain(self) -> np.ndarray:
        """K = R⁻¹BᵀP (m, d), the same as without entropy."""
        return self.riccati.K.copy()

    def policy_mean(self, x: np.ndarray) -> np.ndarray:
        """−Kx (n, m) for x (n, d)."""
        return -_points(x, self.state_dim, "x") @ self.riccati.K.T

    def policy_covariance(self) -> np.ndarray:
        """γR⁻¹ (m, m), the same at every state."""
        return self._covariance.copy()

    def log_policy(self, x: np.ndarray, a: np.ndarray) -> np.ndarray:
        """log π*(a|x) = −½(a + Kx)ᵀ(γR⁻¹)⁻¹(a + Kx) − ½ ln det(2πγR⁻¹) (n,) for x (n, d), a (n, m)."""
        a = _points(a, self.action_dim, "a")
        e = a - self.policy_mean(x)
        if e.shape[0] != a.shape[0]:
            raise ShapeError(f"x and a must hold as many rows; got {e.shape[0]} states and {a.shape[0]} actions")
        return -0.5 * np.einsum("ni,ij,nj->n", e, self.R, e) / self.temperature - 0.5 * self._log_det

    def value(self, x: np.ndarray) -> np.ndarray:
        """V_γ(x) = −½xᵀPx − c + (γ/2ρ) ln det(2πγR⁻¹) (n,) for x (n, d)."""
        return self.riccati.value(_points(x, self.state_dim, "x")) + self.value_shift

    def q_function(self, x: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Jia–Zhou's optimal q(x, a) = r(x, a) + L^a V_γ(x) − ρV_γ(x) (n,) for x (n, d), a (n, m), from the
        problem's own r, drift and diffusion with ∇V_γ = −Px, ∇²V_γ = −P; it equals γ log π*(a|x)."""
        x = _points(x, self.state_dim, "x")
        a = _points(a, self.action_dim, "a")
        if x.shape[0] != a.shape[0]:
            raise ShapeError(f"x and a must hold as many rows; got {x.shape[0]} states and {a.shape[0]} actions")
        P = self.riccati.P
        reward = -0.5 * (np.einsum("ni,ij,nj->n", x, self.Q, x) + np.einsum("ni,ij,nj->n", a, self.R, a))
        drift = x @ self.A.T + a @ self.B.T
        generator = -np.einsum("ni,ij,nj->n", drift, P, x) - 0.5 * float(np.trace(self.D.T @ P @ self.D))
        return reward + generator - self.discount * self.value(x)


def _matrices(lqr) -> tuple[np.ndarray, ...]:
    """(A, B, Q, R, D, ρ) of a StochasticLQR-like object or of a mapping with those keys."""
    if isinstance(lqr, Mapping):
        missing = [key for key in MATRICES if key not in lqr]
        source = lqr
    else:
        missing = [key for key in MATRICES if not hasattr(lqr, key)]
        source = {key: getattr(lqr, key) for key in MATRICES if hasattr(lqr, key)}
    if getattr(lqr, "action_bounds", None) is not None:
        raise ProblemError(f"the entropy-regularised closed form holds for unbounded actions (a Gaussian π*); "
                           f"problem {getattr(lqr, 'name', lqr)!r} has action_bounds; build it without them")
    if missing:
        raise ProblemError(f"EntropyLQR needs a StochasticLQR or a mapping with {', '.join(MATRICES)}; "
                           f"{type(lqr).__name__} lacks {', '.join(missing)}")
    A = square(source["A"], "LQR matrix A")
    d = A.shape[0]
    B = matrix(source["B"], "LQR matrix B", rows=d)
    Q = symmetric(matrix(source["Q"], "LQR matrix Q", d, d), "LQR matrix Q", "semi")
    R = symmetric(matrix(source["R"], "LQR matrix R", B.shape[1], B.shape[1]), "LQR matrix R", "positive")
    D = matrix(source["D"], "LQR matrix D", rows=d)
    rho = positive(source["discount"], "discount must be a number > 0 (ρ > 0)")
    return A, B, Q, R, D, rho


def _points(x, dim: int, label: str) -> np.ndarray:
    """x as a float array (n, dim); ShapeError otherwise."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ShapeError(f"{label} must have shape (n, {dim}); got {x.shape}")
    return x
