"""A diffusion model as a finite-horizon control problem (seed §3, MATH.md §5).

Forward noising dY = f(Y, s) ds + σ(s) dB (VPNoising) from Y_0 ~ p_data; reverse time X_t = Y_{T−t} with
μ(x, t) = −f(x, T − t), Σ(t) = σ(T − t). The cost-to-go V(x, t) = −log p_{T−t}(x) solves
    −∂_t V = −div μ + μ·∇V − ½|Σᵀ∇V|² + ½ Tr(ΣΣᵀ∇²V),   V(x, T) = −log p_data(x),
with optimal control u* = −Σᵀ∇V (the score correction). hjb maximises, so the problem below carries
W = −V = log p_{T−t}: reward −½|u|² + div μ, terminal log p_data, dynamics (μ + Σu) dt + Σ dW.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from hjb.errors import ProblemError
from hjb.geometry.box import Box
from hjb.pdes.data_laws import GaussianMixture, SampleLaw
from hjb.pdes.finite_horizon import FiniteHorizonProblem, finite_horizon_residual
from hjb.pdes.noising import VPNoising

Tensor = torch.Tensor


def default_box(data: GaussianMixture | SampleLaw, margin: float = 4.0) -> Box:
    """A box holding the data (± margin standard deviations) and the prior N(0, I) (± margin)."""
    if isinstance(data, GaussianMixture):
        sd = np.sqrt(np.stack([np.diag(S) for S in data.covariances]))
        lo, hi = (data.means - margin * sd).min(axis=0), (data.means + margin * sd).max(axis=0)
    else:
        lo, hi = data.samples.min(axis=0), data.samples.max(axis=0)
    return Box(np.minimum(lo, -margin), np.maximum(hi, margin))


class GaussianBase:
    """b(x, t) = G(x, t) + λ·(log p_data(x) − G(x, T)) (n, 1), G(x, t) = log N(x; α m, α² C + (1 − α²) I),
    α = α_{T−t}, λ = α^power: the exact log p_{T−t} of Gaussian data with p_data's mean m and covariance C (its
    first two moments only), plus the data's deviation from that Gaussian, fading as the noise grows; b(·, T) = g."""

    def __init__(self, data: GaussianMixture | SampleLaw, noising: VPNoising, power: float = 4.0):
        self.data, self.noising, self.power = data, noising, float(power)
        c, U = np.linalg.eigh(data.covariance())
        self.mean, self.variances, self.axes = (torch.as_tensor(a, dtype=torch.float64) for a in (data.mean(), c, U))

    def gaussian(self, x: Tensor, alpha: Tensor) -> Tensor:
        """log N(x; α m, α² C + (1 − α²) I) (n, 1) for x (n, d), α (n, 1)."""
        v = alpha**2 * self.variances + (1 - alpha**2)  # (n, d): eigenvalues of α² C + (1 − α²) I
        z = (x - alpha * self.mean) @ self.axes
        return -0.5 * ((z * z) / v + torch.log(2 * math.pi * v)).sum(-1, keepdim=True)

    def __call__(self, x: Tensor, t: Tensor) -> Tensor:
        alpha = self.noising.alpha(self.noising.horizon - t)
        lam = alpha**self.power
        # G(x, t) − λ G(x, T) is exactly 0 at t = T (α = λ = 1), so that b(·, T) = g bit for bit
        return lam * self.data.log_density(x) + (self.gaussian(x, alpha) - lam * self.gaussian(x, torch.ones_like(alpha)))


class DiffusionModel(FiniteHorizonProblem):
    """The log-density HJB of VP noising of `data` (GaussianMixture or SampleLaw) on box × [0, T]; its value network
    builds on GaussianBase(data, noising, base_power) (None: on g alone)."""

    def __init__(self, data: GaussianMixture | SampleLaw, noising: VPNoising, domain: Box | None = None,
                 name: str = "diffusion", base_power: float | None = 4.0,
                 state_names: Sequence[str] | None = None, action_names: Sequence[str] | None = None):
        if not isinstance(data, (GaussianMixture, SampleLaw)):
            raise ProblemError(f"data must be a GaussianMixture or a SampleLaw; got {type(data).__name__}")
        if not isinstance(noising, VPNoising):
            raise ProblemError(f"noising must be a VPNoising; got {type(noising).__name__}")
        domain = domain if domain is not None else default_box(data)
        if domain.dim != data.dim:
            raise ProblemError(f"the domain has dimension {domain.dim} but the data law has dimension {data.dim}")
        self.data, self.noising = data, noising
        T, d = noising.horizon, data.dim

        def sigma(t: Tensor) -> Tensor:  # Σ(t) = √β(T − t), (n, 1)
            return torch.sqrt(noising.beta(T - t))

        def drift(x, u, t):
            s = sigma(t)
            return 0.5 * s * s * x + s * u

        def diffusion(x, u, t):
            return sigma(t).unsqueeze(-1) * torch.eye(d, dtype=x.dtype)

        def reward(x, u, t):
            return -0.5 * (u * u).sum(-1, keepdim=True) + 0.5 * d * noising.beta(T - t)

        def greedy_action(x, t, dW, d2W):
            return sigma(t) * dW

        super().__init__(
            name=name, drift=drift, diffusion=diffusion, reward=reward, terminal=data.log_density, horizon=T,
            domain=domain, action_dim=d, greedy_action=greedy_action,
            base=None if base_power is None else GaussianBase(data, noising, base_power),
            parameters={"data": data.to_dict(), "noising": noising.to_dict(), "base_power": base_power},
            state_names=state_names, action_names=action_names,
        )
        self.sigma = sigma

    def control(self, x: Tensor, t: Tensor, dV: Tensor) -> Tensor:
        """u*(x, t) = −Σ(t)ᵀ∇V (n, d) from ∇V (n, d) of the cost-to-go V = −log p_{T−t}."""
        return -self.sigma(t) * dV

    def mu(self, x: Tensor, t: Tensor) -> Tensor:
        """Uncontrolled reverse drift μ(x, t) = −f(x, T − t) = ½β(T − t)x (n, d)."""
        return 0.5 * self.noising.beta(self.horizon - t) * x

    def div_mu(self, t: Tensor) -> Tensor:
        """div μ = ½β(T − t)·d (n, 1)."""
        return 0.5 * self.state_dim * self.noising.beta(self.horizon - t)

    def visited_points(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n space-time points (x, t) (n, d + 1) where the noising process lives: t ~ U[0, T] and x ~ p_{T−t} (data
        samples through the exact OU transition α_s y + √(1 − α_s²) z, s = T − t), clipped into the box."""
        T, box = self.horizon, self.domain.box
        t = rng.uniform(0.0, T, size=(n, 1))
        alpha = self.noising.alpha(T - t)
        x = alpha * self.data.sample(n, rng) + np.sqrt(1.0 - alpha**2) * rng.standard_normal((n, self.state_dim))
        return np.concatenate([np.clip(x, box.lo, box.hi), t], axis=1)

    def prior_samples(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n samples (n, d) of p_T: data samples pushed through the exact OU transition to time T."""
        return self.noising.noise(self.data.sample(n, rng), self.horizon, rng)


def log_density_hjb_residual(
    model: DiffusionModel, x: Tensor, t: Tensor, dVdt: Tensor, dV: Tensor, d2V: Tensor
) -> Tensor:
    """−∂_t V − [−div μ + μ·∇V − ½|Σᵀ∇V|² + ½Tr(ΣΣᵀ∇²V)] (n, 1) for the cost-to-go V = −log p_{T−t}:
    the finite-horizon HJB residual of W = −V, at W's greedy control."""
    return finite_horizon_residual(model, x, t, -dVdt, -dV, -d2V)


def cost_running(model: DiffusionModel, u: Tensor, t: Tensor) -> Tensor:
    """Running cost ½|u|² − div μ (n, 1) of J(u; x, t) = E[∫(½|u|² − div μ) ds − log p_data(X_T)]."""
    return 0.5 * (u * u).sum(-1, keepdim=True) - model.div_mu(t)


__all__ = ["DiffusionModel", "GaussianBase", "cost_running", "default_box", "log_density_hjb_residual"]
