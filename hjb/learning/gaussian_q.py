"""The q-function of continuous-time q-learning (Jia & Zhou 2023), quadratic in the action:
q(x, a) = −½ Σ_i λ_i (a_i − μ_i(x))² − γ log Z(x), with μ the actor network, λ > 0 (m,) learnt and Z normalising
π(a|x) = exp(q/γ) on the action box (a product of truncated normals N(μ_i, γ/λ_i)), so ∫ π da = 1; at γ = 0, the
greedy limit, q(x, a) = −½ Σ λ_i (a_i − μ_i)² + ½ Σ λ_i (clip(μ)_i − μ_i)², so max_a q = 0 at a = clip(μ(x)).

It is exact where the Hamiltonian r + L^a J is quadratic in a with a curvature independent of x (drift affine in a,
reward quadratic in a, diffusion independent of a: the LQ family); elsewhere it is the best such fit."""
from __future__ import annotations

import math

import numpy as np
import torch

from hjb.backend import dde

MEAN_SCALE = 0.1  # μ = middle + MEAN_SCALE·half·y, y the actor network's output

Tensor = torch.Tensor


class _MeanOutput:
    """(x, y) ↦ middle + scale·y + x·S with S the net's mean_linear: an object reading its own net, so that a deep copy
    of the network reads the copy's S (a closure over the head would keep reading the original's)."""

    def __init__(self, net, middle: Tensor, scale: Tensor):
        self.net, self.middle, self.scale = net, middle, scale

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        return self.middle + self.scale * y + x @ self.net.mean_linear


class GaussianQ:
    """q(x, a) (n,) and the policy N(μ(x), γ/λ) truncated to [low, high] (m,); μ an FNN on the inputs z(x)."""

    kind = "q"

    def __init__(self, state_dim: int, low: np.ndarray, high: np.ndarray, temperature: float, width: int, depth: int,
                 input_transform, curvature: float):
        m = len(low)
        self.low, self.high = (torch.tensor(np.array(b, dtype=float)) for b in (low, high))
        self.temperature = float(temperature)
        self.net = dde.nn.FNN([state_dim] + [width] * depth + [m], "tanh", "Glorot normal")
        self.net.apply_feature_transform(input_transform)
        middle, half = (self.low + self.high) / 2, (self.high - self.low) / 2
        # μ = middle + (half/10)·y: Adam moves y by about the learning rate per step, μ by a tenth of that times the
        # half-range (with the full half-range, lqr1d's μ wandered and held J at the flat start: gain −100% after 3000 steps)
        # μ also has a linear term x·S beside the network (S (d, m), zero until the exact solve sets it)
        self.net.register_buffer("mean_linear", torch.zeros(state_dim, m, dtype=torch.float64))
        self.net.apply_output_transform(_MeanOutput(self.net, middle, MEAN_SCALE * half))
        self.log_curvature = torch.nn.Parameter(torch.full((m,), math.log(curvature), dtype=torch.float64))

    def parameters(self) -> list:
        return [*self.net.parameters(), self.log_curvature]

    def mean(self, x: Tensor) -> Tensor:
        """μ(x) (n, m), unclipped."""
        return self.net(x)

    def curvature(self) -> Tensor:
        """λ (m,)."""
        return torch.exp(self.log_curvature)

    @torch.no_grad()
    def set_mean_layer(self, weights: Tensor, bias: Tensor, linear: Tensor | None = None) -> None:
        """μ(x) = h(x)·weights + bias + x·linear, h the actor's last hidden layer (weights (width, m), bias (m,),
        linear (d, m); None: 0)."""
        scale = MEAN_SCALE * (self.high - self.low) / 2
        last = self.net.linears[-1]
        last.weight.copy_((weights / scale).T)
        last.bias.copy_((bias - (self.low + self.high) / 2) / scale)
        self.net.mean_linear.copy_(torch.zeros_like(self.net.mean_linear) if linear is None else linear)

    @torch.no_grad()
    def set_curvature(self, curvature: Tensor) -> None:
        """λ (m,) > 0."""
        self.log_curvature.copy_(torch.log(curvature))

    def q(self, x: Tensor, a: Tensor) -> Tensor:
        """q(x, a) (n,) for x (n, d), a (n, m)."""
        mu, lam = self.mean(x), self.curvature()
        quadratic = -0.5 * (lam * (a - mu) ** 2).sum(-1)
        if self.temperature == 0:
            return quadratic + 0.5 * (lam * (torch.clamp(mu, self.low, self.high) - mu) ** 2).sum(-1)
        return quadratic - self.temperature * self.log_normaliser(mu, lam)

    def log_normaliser(self, mu: Tensor, lam: Tensor) -> Tensor:
        """log ∫_box exp(−½ Σ λ_i (a_i − μ_i)²/γ) da (n,): Σ_i ½ log(2πγ/λ_i) + log(Φ(β_i) − Φ(α_i))."""
        s = torch.sqrt(self.temperature / lam)
        mass = torch.special.ndtr((self.high - mu) / s) - torch.special.ndtr((self.low - mu) / s)
        return (0.5 * torch.log(2 * math.pi * s**2) + torch.log(torch.clamp(mass, min=1e-300))).sum(-1)

    def rate(self, x: Tensor, a: Tensor) -> Tensor:
        """What the TD rate is regressed on: q(x, a) (n,)."""
        return self.q(x, a)

    def test_functions(self, x: Tensor, a: Tensor) -> Tensor:
        """∂q along μ's last layer, λ_i(a_i − μ_i)·φ(x) (n, m·width), and along log λ, −½λ_i(a_i − μ_i)² (n, m)."""
        from hjb.learning.learned import last_hidden

        mu, lam = self.mean(x), self.curvature()
        pull = lam * (a - mu)
        features = last_hidden(self.net, x)
        return torch.cat([(pull[:, :, None] * features[:, None, :]).flatten(1), -0.5 * lam * (a - mu) ** 2], dim=1)

    def extra_loss(self, x: Tensor) -> Tensor:
        """None: the policy is q's own (no separate actor)."""
        return torch.zeros((), dtype=torch.float64)

    def policy(self, x: Tensor) -> Tensor:
        """The policy's mean action clip(μ(x)) (n, m) (γ > 0: the untruncated mean, clipped)."""
        return torch.clamp(self.mean(x), self.low, self.high)

    def variance(self) -> np.ndarray:
        """The policy's variance γ/λ (m,) before truncation (0 at γ = 0)."""
        return (self.temperature / self.curvature()).detach().numpy()

    def sample(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """Actions (n, m) drawn from π(·|x): clip(μ) at γ = 0, else truncated normals by inverse CDF."""
        mu = self.mean(x)
        if self.temperature == 0:
            return torch.clamp(mu, self.low, self.high)
        s = torch.sqrt(self.temperature / self.curvature())
        lo, hi = torch.special.ndtr((self.low - mu) / s), torch.special.ndtr((self.high - mu) / s)
        u = lo + (hi - lo) * torch.rand(mu.shape, dtype=mu.dtype, generator=generator)
        return torch.clamp(mu + s * torch.special.ndtri(u.clamp(1e-15, 1 - 1e-15)), self.low, self.high)

    def state(self) -> dict:
        return {"net": self.net.state_dict(), "log_curvature": self.log_curvature.detach().clone()}

    def load_state(self, state: dict) -> None:
        net = dict(state["net"])
        net.setdefault("mean_linear", torch.zeros_like(self.net.mean_linear))  # a run saved before the linear term
        self.net.load_state_dict(net)
        with torch.no_grad():
            self.log_curvature.copy_(state["log_curvature"])
