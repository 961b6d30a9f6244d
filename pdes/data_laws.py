"""Data laws of a diffusion model: their log-density (the terminal condition) and samples.

GaussianMixture is exact; SampleLaw is a user's array whose log-density is a Gaussian kernel density
estimate (so the terminal condition is only as good as that estimate).
"""
from __future__ import annotations

import hashlib
import math
from collections import OrderedDict

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


class _KernelDensity:
    """log p̂(x) = log (1/n) Σ_j N(x; y_j, diag h²) and its derivatives of order ≤ 3 at x (m, d), exactly (no
    truncation) in chunks of rows, caching the last few x: a PINN evaluates the same collocation points each step.

    With ỹ = y/h, x̃ = x/h and softmax weights w_j ∝ exp(−½|x̃ − ỹ_j|²), the derivatives of a log-sum-exp of
    quadratics with a common Hessian are cumulants of v_j = (ỹ_j − x̃)/h under w: ∇ log p̂ = E_w[v],
    ∇² log p̂ = −diag(h⁻²) + Cov_w(v), ∇³ log p̂ = E_w[(v − E_w v)^⊗3]; all from one product w·[1, u, u⊗u, u⊗u⊗u],
    u = ỹ − mean(ỹ), per chunk.
    """

    CHUNK = 1 << 17  # kernel evaluations per chunk (1 MB of float64: the passes over it stay in cache)
    CACHE = 8

    def __init__(self, samples: np.ndarray, bandwidth: np.ndarray):
        self.samples, self.bandwidth = samples, bandwidth
        self._cache: OrderedDict = OrderedDict()
        self._bases: dict = {}

    def _basis(self, dtype: torch.dtype, order: int) -> tuple[Tensor, Tensor, Tensor]:
        """ỹ/√2 (n, d), the mean c (d,) of ỹ and [1, u, u⊗u, …] (n, Σ_{k≤order} d^k) for u = ỹ − c."""
        if (dtype, order) not in self._bases:
            yt = torch.as_tensor(self.samples / self.bandwidth, dtype=dtype)
            c = yt.mean(0)
            u, power = yt - c, torch.ones(len(yt), 1, dtype=dtype)
            cols = [power]
            for _ in range(order):
                power = (power[:, :, None] * u[:, None, :]).flatten(1)
                cols.append(power)
            self._bases[dtype, order] = (yt / math.sqrt(2), c, torch.cat(cols, dim=1))
        return self._bases[dtype, order]

    def derivatives(self, x: Tensor, order: int) -> list[Tensor]:
        """[log p̂ (m, 1), ∇ (m, d), ∇² (m, d, d), ∇³ (m, d, d, d)][: order + 1] at x (m, d), detached."""
        x = x.detach()
        key = (x.dtype, tuple(x.shape), hashlib.blake2b(x.contiguous().numpy().tobytes(), digest_size=16).digest())
        hit = self._cache.get(key)
        if hit is None or len(hit) <= order:
            hit = self._cache[key] = self._compute(x, order)
            while len(self._cache) > self.CACHE:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return hit[: order + 1]

    def _compute(self, x: Tensor, order: int) -> list[Tensor]:
        n, d = self.samples.shape
        ys, c, basis = self._basis(x.dtype, order)
        h = torch.as_tensor(self.bandwidth, dtype=x.dtype)
        const = -math.log(n) - 0.5 * d * math.log(2 * math.pi) - float(np.log(self.bandwidth).sum())
        rows = max(1, self.CHUNK // n)
        starts = range(0, max(len(x), 1), rows)  # one (empty) chunk for no rows
        parts = [self._chunk(x[i:i + rows] / h, ys, c, basis, h, order, const) for i in starts]
        return [torch.cat(p, dim=0) for p in zip(*parts, strict=True)]

    @staticmethod
    def _chunk(xs: Tensor, ys: Tensor, c: Tensor, basis: Tensor, h: Tensor, order: int, const: float) -> list[Tensor]:
        """The derivatives (see the class) at the rows x̃ (r, d), ys = ỹ/√2."""
        r, d = xs.shape
        xh = xs / math.sqrt(2)
        q = (xh[:, 0, None] - ys[:, 0]).square_()  # q_ij = ½|x̃_i − ỹ_j|², one pass per axis
        for a in range(1, d):
            q.add_((xh[:, a, None] - ys[:, a]).square_())
        near = q.amin(dim=1, keepdim=True)
        S = torch.sub(near, q, out=q).exp_() @ basis  # (r, K): Σ_j w̃_j [1, u_j, u_j⊗u_j, …], w̃ unnormalised
        total = S[:, :1]
        out = [torch.log(total) - near + const]
        if order >= 1:
            m1 = S[:, 1:1 + d] / total
            out.append((m1 + c - xs) / h)
        if order >= 2:
            m2 = (S[:, 1 + d:1 + d + d * d] / total).view(r, d, d)
            cov = m2 - m1[:, :, None] * m1[:, None, :]
            out.append((cov - torch.eye(d, dtype=xs.dtype)) / (h[:, None] * h[None, :]))
        if order >= 3:
            m3 = (S[:, 1 + d + d * d:] / total).view(r, d, d, d)
            ma, mb, mc = m1[:, :, None, None], m1[:, None, :, None], m1[:, None, None, :]  # E u_a, E u_b, E u_c
            k3 = m3 - m2[:, :, :, None] * mc - m2[:, :, None, :] * mb - m2[:, None, :, :] * ma + 2 * ma * mb * mc
            out.append(k3 / (h[:, None, None] * h[None, :, None] * h[None, None, :]))
        return out


class _KernelDensityDerivative(torch.autograd.Function):
    """The order-k derivative of log p̂ at x (k = 0: (m, 1); k ≥ 1: (m, d, …, d)); its backward applies order k + 1,
    so log p̂ is differentiable (with graph) three times. `ahead`: a caller will ask for order k + 1 next, which the
    same pass over the kernels gives."""

    @staticmethod
    def forward(ctx, x: Tensor, kernel: _KernelDensity, order: int, ahead: bool) -> Tensor:
        ctx.save_for_backward(x)
        ctx.kernel, ctx.order = kernel, order
        return kernel.derivatives(x, min(order + ahead, 3))[order].clone()  # a copy: the cache keeps its own

    @staticmethod
    def backward(ctx, grad: Tensor):
        if ctx.order == 3:
            raise DataLawError("the kernel-density log-density is differentiable three times, not four")
        (x,) = ctx.saved_tensors
        # grad mode is on here only under create_graph, i.e. when a further derivative will follow
        nxt = _KernelDensityDerivative.apply(x, ctx.kernel, ctx.order + 1, torch.is_grad_enabled())
        if ctx.order == 0:
            return grad * nxt, None, None, None
        return (grad.unsqueeze(-1) * nxt).flatten(1, -2).sum(1), None, None, None


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
        """Kernel-density log p̂(x) = log (1/n) Σ_j N(x; y_j, diag h²) (m, 1) for x (m, d), differentiable three times
        (analytic derivatives over every sample, chunked; a PINN's repeated collocation points are cached)."""
        if getattr(self, "_kernel", None) is None:
            self._kernel = _KernelDensity(self.samples, self.bandwidth)
        return _KernelDensityDerivative.apply(x, self._kernel, 0, x.requires_grad and torch.is_grad_enabled())

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n draws (n, d) from the smoothed empirical law (a sample plus kernel noise)."""
        idx = rng.integers(0, len(self.samples), size=n)
        return self.samples[idx] + rng.standard_normal((n, self.dim)) * self.bandwidth
