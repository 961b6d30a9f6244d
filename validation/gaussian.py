"""Closed forms of linear SDEs dX = FX dt + D dW from X_0 ~ N(m0, S0): Gaussian marginals and their densities."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve, expm, solve_continuous_lyapunov

from hjb.errors import ProblemError
from hjb.pdes.matrices import matrix, square, symmetric


def _drift_and_noise(F, D) -> tuple[np.ndarray, np.ndarray]:
    F = square(F, "F")
    return F, matrix(D, "D", rows=F.shape[0], column=True)  # d rows, as F


def _cholesky(cov: np.ndarray) -> tuple[np.ndarray, bool]:
    sym = symmetric(cov, "a covariance")
    try:
        return cho_factor(sym, lower=True)
    except LinAlgError:
        raise ProblemError(f"a covariance must be positive definite; got {cov.tolist()}") from None


def _transition_and_gramian(F: np.ndarray, Qc: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Φ = e^{Ft} and W = ∫_0^t e^{Fs}Qc e^{Fᵀs} ds (d, d): Van Loan on a short step h = t/2^k, then doubling."""
    d = F.shape[0]
    scale = float(np.linalg.norm(F, 1)) * t
    k = max(0, math.ceil(math.log2(scale))) if scale > 1.0 else 0
    h = t / 2**k
    # expm([[-F, Qc], [0, Fᵀ]] h) = [[·, e^{-Fh}W(h)], [0, e^{Fᵀh}]]; e^{±Fh} stay O(1) since ‖F‖h ≤ 1.
    block = np.zeros((2 * d, 2 * d))
    block[:d, :d], block[:d, d:], block[d:, d:] = -F, Qc, F.T
    E = expm(block * h)
    Phi = E[d:, d:].T
    W = Phi @ E[:d, d:]
    with np.errstate(under="ignore"):  # Φ of a stable F decays to 0 for long t
        for _ in range(k):  # W(2s) = W(s) + Φ(s)W(s)Φ(s)ᵀ, Φ(2s) = Φ(s)²
            W = W + Phi @ W @ Phi.T
            Phi = Phi @ Phi
    return Phi, 0.5 * (W + W.T)


def gaussian_marginal(F, D, m0, S0, t: float) -> tuple[np.ndarray, np.ndarray]:
    """m_t = e^{Ft}m0 (d,), S_t = e^{Ft}S0e^{Fᵀt} + ∫_0^t e^{Fs}DDᵀe^{Fᵀs} ds (d, d), the integral exactly (Van Loan)."""
    F, D = _drift_and_noise(F, D)
    d = F.shape[0]
    m0 = np.asarray(m0, dtype=float).ravel()
    S0 = square(S0, "S0")
    if m0.shape != (d,) or S0.shape != (d, d):
        raise ProblemError(f"m0 must be ({d},) and S0 ({d}, {d}) to match F; got {m0.shape} and {S0.shape}")
    if not (math.isfinite(t) and t >= 0):
        raise ProblemError(f"the time t must be a finite number ≥ 0; got {t}")
    Phi, W = _transition_and_gramian(F, D @ D.T, t)
    with np.errstate(under="ignore"):
        m_t, S_t = Phi @ m0, Phi @ S0 @ Phi.T + W
    return m_t, 0.5 * (S_t + S_t.T)


def stationary_covariance(F, D) -> np.ndarray:
    """S∞ (d, d) solving FS + SFᵀ + DDᵀ = 0, the limit of S_t; F must be Hurwitz (every Re λ(F) < 0)."""
    F, D = _drift_and_noise(F, D)
    max_re = float(np.max(np.linalg.eigvals(F).real))
    if max_re >= 0:
        raise ProblemError(
            f"F must be Hurwitz (every eigenvalue with real part < 0) for a stationary law; max real part is {max_re}"
        )
    S = solve_continuous_lyapunov(F, -D @ D.T)
    return 0.5 * (S + S.T)


def gaussian_log_density(x, mean, cov) -> np.ndarray:
    """log N(x; mean, cov) = −½(d log 2π + log det cov + (x − mean)ᵀcov⁻¹(x − mean)), (n,) for x (n, d)."""
    mean = np.asarray(mean, dtype=float).ravel()
    cov = square(cov, "cov")
    d = mean.size
    x = np.asarray(x, dtype=float)
    if x.ndim == 1 and d == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != d or cov.shape != (d, d):
        raise ProblemError(f"x must be (n, {d}) and cov ({d}, {d}) to match the mean; got {x.shape} and {cov.shape}")
    factor = _cholesky(cov)
    diff = x - mean
    quad = np.einsum("ni,ni->n", diff, cho_solve(factor, diff.T).T)
    log_det = 2.0 * float(np.sum(np.log(np.diag(factor[0]))))
    return -0.5 * (d * math.log(2.0 * math.pi) + log_det + quad)


def gaussian_density(x, mean, cov) -> np.ndarray:
    """N(x; mean, cov) = exp(log N), (n,) for x (n, d); far-tail values underflow to 0."""
    with np.errstate(under="ignore"):
        return np.exp(gaussian_log_density(x, mean, cov))


@dataclass(frozen=True)
class GaussianLaw:
    """N(mean, cov): mean (d,), cov (d, d) symmetric positive definite."""

    mean: np.ndarray
    cov: np.ndarray

    def __post_init__(self):
        mean = np.asarray(self.mean, dtype=float).ravel()
        cov = square(self.cov, "cov")
        if cov.shape != (mean.size, mean.size) or not np.all(np.isfinite(mean)):
            raise ProblemError(
                f"a Gaussian law needs a finite mean (d,) and cov (d, d); got {mean.shape} and {cov.shape}"
            )
        _cholesky(cov)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "cov", 0.5 * (cov + cov.T))

    @classmethod
    def of_linear_sde(cls, F, D, m0, S0, t: float) -> GaussianLaw:
        """The law N(m_t, S_t) of X_t for dX = FX dt + D dW, X_0 ~ N(m0, S0)."""
        return cls(*gaussian_marginal(F, D, m0, S0, t))

    @property
    def dim(self) -> int:
        """Dimension d."""
        return self.mean.size

    def log_density(self, x: np.ndarray) -> np.ndarray:
        """log N(x; mean, cov), (n,) for x (n, d)."""
        return gaussian_log_density(x, self.mean, self.cov)

    def density(self, x: np.ndarray) -> np.ndarray:
        """N(x; mean, cov), (n,) for x (n, d)."""
        return gaussian_density(x, self.mean, self.cov)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n draws mean + Lz, LLᵀ = cov, z ~ N(0, I): (n, d)."""
        L = np.linalg.cholesky(self.cov)
        return self.mean + rng.standard_normal((n, self.dim)) @ L.T
