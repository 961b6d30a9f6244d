"""Denoising score matching (DSM), the standard diffusion-model baseline: s_θ(y, s) ≈ ∇_y log p_s(y).

Trained on samples (n, d) of p_data under VP noising Y_s = α_s Y_0 + σ_s Z, σ_s = √(1 − α_s²), with the
ε-prediction loss E_{s ~ U[s_min, T], y0, z} |σ_s s_θ(α_s y0 + σ_s z, s) + z|² (weighting λ(s) = σ_s²).
Sampling is reverse-time Euler–Maruyama and log-densities come from the probability-flow ODE, both in
hjb.montecarlo.reverse_time, which take any score callable (y (n, d), s (n, 1)) → (n, d) on float64 tensors, so an
exact score, the PINN's control and s_θ run through the same code path. Plain torch; DeepXDE is not needed.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from hjb.errors import ProblemError, positive_int
from hjb.montecarlo.reverse_time import (
    F64,
    points_tensor,
    probability_flow_log_density,
    reverse_sample,
    times_column,
)
from hjb.nn.adam_loop import minimise
from hjb.pdes.data_laws import GaussianMixture, SampleLaw
from hjb.pdes.noising import VPNoising

Tensor = torch.Tensor

_ACTIVATIONS = {"silu": torch.nn.SiLU, "tanh": torch.nn.Tanh}


class ScoreNetwork(torch.nn.Module):
    """s_θ(y, s) = −ε_θ(ỹ, s/T)/σ_s (n, d) for y (n, d), s (n, 1): an MLP ε_θ, σ_s = √(1 − α_s²).

    ε-prediction parametrisation: the network predicts the unit-variance noise, so its target is O(1) at every s
    and the 1/σ_s blow-up of the true score as s → 0 is carried exactly by the prefactor. The input is
    preconditioned per axis, ỹ = (y − α_s μ)/√(α_s² v + σ_s²), with μ, v the data mean and variance, so ỹ has
    mean 0 and variance 1 at every s (the EDM-style c_in). `depth` hidden layers of `width` units.
    """

    def __init__(self, dim: int, noising: VPNoising, mean=None, var=None, *, width: int = 64, depth: int = 3,
                 activation: str = "silu"):
        super().__init__()
        dim, width, depth = positive_int(dim, "dim"), positive_int(width, "width"), positive_int(depth, "depth")
        if activation not in _ACTIVATIONS:
            raise ProblemError(f"activation must be one of {sorted(_ACTIVATIONS)}; got {activation!r}")
        self.noising, self.dim = noising, dim
        mean = np.zeros(dim) if mean is None else np.asarray(mean, dtype=float).reshape(dim)
        var = np.ones(dim) if var is None else np.asarray(var, dtype=float).reshape(dim)
        self.register_buffer("data_mean", torch.as_tensor(mean, dtype=F64))
        self.register_buffer("data_var", torch.as_tensor(var, dtype=F64))
        layers, fan_in = [], dim + 1
        for _ in range(depth):
            layers += [torch.nn.Linear(fan_in, width, dtype=F64), _ACTIVATIONS[activation]()]
            fan_in = width
        layers.append(torch.nn.Linear(fan_in, dim, dtype=F64))
        self.mlp = torch.nn.Sequential(*layers)

    def epsilon(self, y: Tensor, s: Tensor) -> Tensor:
        """ε_θ(y, s) (n, d): the predicted standard-normal noise in y = α_s y0 + σ_s z."""
        a = self.noising.alpha(s)
        scale = torch.sqrt(a * a * self.data_var + (1.0 - a * a))
        y_in = (y - a * self.data_mean) / scale
        features = torch.cat([y_in, s / self.noising.horizon], dim=-1)
        # In the MLP's own dtype (float32 in a single_precision copy), back in y's.
        return self.mlp(features.to(self.mlp[0].weight.dtype)).to(y.dtype)

    def single_precision(self) -> ScoreNetwork:
        """A copy with the MLP in float32, for sampling: inputs and s_θ stay float64 (half the cost, error ≈ 1e-7)."""
        twin = copy.deepcopy(self)
        twin.mlp.float()
        return twin

    def forward(self, y: Tensor, s: Tensor) -> Tensor:
        """s_θ(y, s) = −ε_θ(y, s)/σ_s (n, d)."""
        a = self.noising.alpha(s)
        return -self.epsilon(y, s) / torch.sqrt(1.0 - a * a)


def dsm_loss(network: ScoreNetwork, y0: Tensor, s: Tensor, z: Tensor) -> Tensor:
    """Mean over (n, d) of |ε_θ(α_s y0 + σ_s z, s) − z|² = |σ_s s_θ + z|² for y0, z (n, d), s (n, 1)."""
    a = network.noising.alpha(s)
    y = a * y0 + torch.sqrt(1.0 - a * a) * z
    return ((network.epsilon(y, s) - z) ** 2).mean()


@dataclass
class ScoreModel:
    """A trained DSM score s_θ with its noising, the training samples (n, d) and their mean (d,) and covariance (d, d)."""

    network: ScoreNetwork
    noising: VPNoising
    samples: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    s_min: float
    settings: dict = field(default_factory=dict)
    losses: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def dim(self) -> int:
        """Dimension d."""
        return self.samples.shape[1]

    def score(self, y, s) -> np.ndarray:
        """s_θ(y, s) (n, d) for y (n, d) and s ∈ (0, T] a scalar or (n,)."""
        yt = points_tensor(y, self.dim)
        with torch.no_grad():
            return self.network(yt, times_column(s, yt.shape[0], self.noising.horizon, positive=True)).numpy()

    def prior_log_density(self, y: Tensor) -> Tensor:
        """log N(y; α_T μ, α_T² C + (1 − α_T²) I) (n, 1): p_T with the data replaced by its fitted Gaussian N(μ, C)."""
        a = float(self.noising.alpha(self.noising.horizon))
        return GaussianMixture([1.0], self.mean.reshape(1, -1), self.cov[None]).noised(a).log_density(y)

    def sample(self, n: int, rng: np.random.Generator, steps: int = 500) -> np.ndarray:
        """n samples (n, d) of p_{s_min} ≈ p_data by reverse Euler–Maruyama with s_θ (`steps` steps).

        The start Y_T = α_T y0 + σ_T Z uses y0 resampled (with replacement) from the training samples: exact draws
        of the empirical law noised to T, the only p_T the baseline has (no fresh data are used).
        """
        n = positive_int(n, "n")
        y0 = self.samples[rng.integers(0, len(self.samples), size=n)]
        y_T = self.noising.noise(y0, self.noising.horizon, rng)
        return reverse_sample(self.network.single_precision(), y_T, self.noising, rng, s_min=self.s_min, steps=steps)

    def log_density(self, y, s, steps: int = 100) -> np.ndarray:
        """log p_s(y) (n,) for y (n, d), s ∈ (0, T] by the probability-flow ODE of s_θ from s to T (RK4, `steps` steps).

        The terminal law p_T is approximated by the Gaussian N(α_T μ, α_T² C + (1 − α_T²) I) fitted to the training
        samples (exact for Gaussian data, and increasingly accurate as α_T → 0).
        """
        yt = points_tensor(y, self.dim)
        return probability_flow_log_density(self.network, yt.numpy(), s, self.noising, self.prior_log_density, steps,
                                            positive=True)


def train_score_matching(samples: np.ndarray, noising: VPNoising, *, width: int = 64, depth: int = 3,
                         steps: int = 2000, batch: int = 256, lr: float = 1e-3, s_min: float = 1e-3,
                         activation: str = "silu", seed: int = 0) -> ScoreModel:
    """Fit s_θ to samples (n, d) by Adam on E_{s ~ U[s_min, T], y0, z} |σ_s s_θ(α_s y0 + σ_s z, s) + z|².

    Each of `steps` steps draws `batch` y0 (with replacement), s and z from a torch generator seeded with `seed`;
    the weights are initialised under the same seed (the global torch RNG state is left as it was). The learning
    rate follows a cosine decay from lr to lr/10. Raises TrainingDivergedError if the loss becomes NaN or inf.
    """
    if not isinstance(noising, VPNoising):
        raise ProblemError(f"noising must be a VPNoising; got {type(noising).__name__}")
    y = SampleLaw(samples).samples  # DataLawError on NaN/inf, a bad shape or fewer than 2 rows
    steps, batch = positive_int(steps, "steps"), positive_int(batch, "batch")
    T = noising.horizon
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ProblemError(f"lr must be a positive number; got {lr!r}")
    if not (isinstance(s_min, (int, float)) and 0.0 < s_min < T):
        raise ProblemError(f"s_min must lie in (0, T) = (0, {T}); got {s_min!r}")
    n, d = y.shape
    mean = y.mean(axis=0)
    cov = np.atleast_2d(np.cov(y, rowvar=False)).reshape(d, d)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        network = ScoreNetwork(d, noising, mean, np.diag(cov).copy(), width=width, depth=depth, activation=activation)
    gen = torch.Generator().manual_seed(int(seed))
    data = torch.as_tensor(y, dtype=F64)
    optimizer = torch.optim.Adam(network.parameters(), lr=float(lr))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=float(lr) / 10)
    def loss_at(k: int) -> torch.Tensor:
        y0 = data[torch.randint(0, n, (batch,), generator=gen)]
        s = s_min + (T - s_min) * torch.rand(batch, 1, generator=gen, dtype=F64)
        z = torch.randn(batch, d, generator=gen, dtype=F64)
        return dsm_loss(network, y0, s, z)

    losses = minimise(loss_at, optimizer, schedule, steps, "DSM", unit="step")
    network.eval()
    settings = {"width": width, "depth": depth, "steps": steps, "batch": batch, "lr": float(lr),
                "s_min": float(s_min), "activation": activation, "seed": int(seed)}
    return ScoreModel(network, noising, y, mean, cov, float(s_min), settings, losses)
