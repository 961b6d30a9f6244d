"""Data laws of a diffusion model: their log-density (the terminal condition) and samples.

GaussianMixture is exact; SampleLaw is a user's array whose log-density is a Gaussian kernel density
estimate (so the terminal condition is only as good as that estimate).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from hjb.errors import DataLawError

Tensor = torch.Tensor


class GaussianMixture:
    """p(x) = Σ_i w_i N(x; m_i, S_i): weights (K,) ≥ 0 summing to 1, means (K, d), covariances (K, d, d) ≻ 0."""

    def __init__(self, weights, means, covariances):
        w = np.asarray(weights, dtype=float).ravel()
        m = np.atleast_2d(np.asarray(means, dtype=float))
        if m.shape[0] != w.size and w.size == 1:
            m = m.reshape(1, -1)
        S = np.asarray(covariances, dtype=float)
        K, d = m.shape
        if S.ndim == 1 and d == 1:  # variances of a 1-D mixture
            S = S.reshape(-1, 1, 1)
        if w.size != K or S.shape != (K, d, d):
            raise DataLawError(
                f"a Gaussian mixture needs weights (K,), means (K, d), covariances (K, d, d); got {w.shape}, {m.shape}, {S.shape}"
            )
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(m)) and np.all(np.isfinite(S))):
            raise DataLawError("a Gaussian mixture needs finite weights, means and covariances")
        if np.any(w < 0) or not math.isclose(w.sum(), 1.0, rel_tol=0, abs_tol=1e-9):
            raise DataLawError(f"mixture weights must be ≥ 0 and sum to 1 (a density); got {w.tolist()}")
        for i, Si in enumerate(S):
            if not np.allclose(Si, Si.T) or np.linalg.eigvalsh(0.5 * (Si + Si.T)).min() <= 0:
                raise DataLawError(f"mixture covariance {i} must be symmetric positive definite; got {Si.tolist()}")
        self.weights, self.means, self.covariances = w, m, 0.5 * (S + S.transpose(0, 2, 1))

    @property
    def dim(self) -> int:
        """Dimension d."""
        return self.means.shape[1]

    def __repr__(self) -> str:
        return f"GaussianMixture(K={len(self.weights)}, d={self.dim})"

    def to_dict(self) -> dict:
        """JSON-ready {kind, weights, means, covariances}."""
        return {"kind": "GaussianMixture", "weights": self.weights.tolist(), "means": self.means.tolist(),
                "covariances": self.covariances.tolist()}

    def mean(self) -> np.ndarray:
        """E[Y] = Σ w_i m_i (d,)."""
        return self.weights @ self.means

    def covariance(self) -> np.ndarray:
        """Cov[Y] = Σ w_i (S_i + m_i m_iᵀ) − E[Y]E[Y]ᵀ (d, d)."""
        m = self.mean()
        second = np.einsum("k,kij->ij", self.weights, self.covariances + np.einsum("ki,kj->kij", self.means, self.means))
        return second - np.outer(m, m)

    def noised(self, alpha: float) -> GaussianMixture:
        """The law of α Y + √(1 − α²) Z, Y ~ self: Σ w_i N(α m_i, α² S_i + (1 − α²) I)."""
        eye = np.eye(self.dim)
        return GaussianMixture(self.weights, alpha * self.means, alpha**2 * self.covariances + (1 - alpha**2) * eye)

    def log_density(self, x: Tensor) -> Tensor:
        """log p(x) (n, 1) for x (n, d), differentiable (log-sum-exp over components)."""
        terms = []
        for w, m, S in zip(self.weights, self.means, self.covariances, strict=True):
            if w == 0:
                continue
            L = np.linalg.cholesky(S)
            Linv = torch.as_tensor(np.linalg.inv(L), dtype=x.dtype)
            z = (x - torch.as_tensor(m, dtype=x.dtype)) @ Linv.T
            const = math.log(w) - 0.5 * self.dim * math.log(2 * math.pi) - float(np.log(np.diag(L)).sum())
            terms.append(const - 0.5 * (z * z).sum(-1))
        return torch.logsumexp(torch.stack(terms, dim=-1), dim=-1, keepdim=True)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n samples (n, d)."""
        counts = rng.multinomial(n, self.weights)
        parts = [rng.multivariate_normal(m, S, size=c) for m, S, c in zip(self.means, self.covariances, counts, strict=True)]
        out = np.concatenate(parts, axis=0)
        return out[rng.permutation(n)]


class SampleLaw:
    """The empirical law of a user's samples (n, d); log-density by a Gaussian kernel density estimate
    with Scott's bandwidth h = n^(−1/(d+4))·std (per axis) unless `bandwidth` is given."""

    def __init__(self, samples, bandwidth: float | None = None):
        try:
            y = np.asarray(samples, dtype=float)
        except (TypeError, ValueError):
            raise DataLawError("data samples must be a numeric array of shape (n, d)") from None
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if y.ndim != 2 or y.shape[0] < 2:
            raise DataLawError(f"data samples must have shape (n, d) with n ≥ 2; got {np.shape(samples)}")
        if not np.all(np.isfinite(y)):
            bad = int(np.sum(~np.all(np.isfinite(y), axis=1)))
            raise DataLawError(f"data samples contain NaN or inf ({bad} of {len(y)} rows); expected finite values")
        n, d = y.shape
        h = np.full(d, float(bandwidth)) if bandwidth is not None else y.std(axis=0) * n ** (-1.0 / (d + 4))
        if not np.all(h > 0):
            raise DataLawError(f"the kernel bandwidth must be > 0 on every axis; got {h.tolist()}")
        self.samples, self.bandwidth = y, h

    @property
    def dim(self) -> int:
        """Dimension d."""
        return self.samples.shape[1]

    def __repr__(self) -> str:
        return f"SampleLaw(n={len(self.samples)}, d={self.dim})"

    def to_dict(self) -> dict:
        """JSON-ready summary (the samples themselves are not written)."""
        return {"kind": "SampleLaw", "n": len(self.samples), "bandwidth": self.bandwidth.tolist(),
                "log_density": "Gaussian kernel density estimate"}

    def mean(self) -> np.ndarray:
        """Mean (d,) of the kernel-density law: the sample mean."""
        return self.samples.mean(axis=0)

    def covariance(self) -> np.ndarray:
        """Covariance (d, d) of the kernel-density law: the (1/n) sample covariance plus diag(h²)."""
        return np.cov(self.samples, rowvar=False, bias=True).reshape(self.dim, self.dim) + np.diag(self.bandwidth**2)

    def log_density(self, x: Tensor) -> Tensor:
        """Kernel-density log p̂(x) (n, 1) for x (n, d), differentiable."""
        y = torch.as_tensor(self.samples, dtype=x.dtype)
        h = torch.as_tensor(self.bandwidth, dtype=x.dtype)
        z = (x[:, None, :] - y[None, :, :]) / h
        log_kernel = -0.5 * (z * z).sum(-1) - 0.5 * self.dim * math.log(2 * math.pi) - torch.log(h).sum()
        return torch.logsumexp(log_kernel, dim=1, keepdim=True) - math.log(len(self.samples))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n draws (n, d) from the smoothed empirical law (a sample plus kernel noise)."""
        idx = rng.integers(0, len(self.samples), size=n)
        return self.samples[idx] + rng.standard_normal((n, self.dim)) * self.bandwidth
