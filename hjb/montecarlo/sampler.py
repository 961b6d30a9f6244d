"""From a solved log-density HJB: the reverse-time sampler and a Monte Carlo check of the verification identity
J(u; x, t) = V(x, t) + ½ E∫_t^T |u − u*|² ds (seed §3), both by Euler–Maruyama in reverse time."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from hjb.errors import positive_int
from hjb.montecarlo.reverse_time import reverse_sample
from hjb.montecarlo.sde import euler_maruyama
from hjb.pdes.diffusion_model import DiffusionModel, cost_running
from hjb.solvers.solution import Solution

Tensor = torch.Tensor
Control = Callable[[Tensor, Tensor], Tensor]


def learned_control(solution: Solution) -> Control:
    """u*(x, t) = Σ(t)ᵀ∇W = −Σ(t)ᵀ∇V (n, d) from the solved W = log p_{T−t}, for x (n, d), t (n, 1), with the
    network in float32 (ValueNetwork.single_precision): the sampler calls this once per step on every path."""
    model, net = solution.problem, solution.network.single_precision()
    d = model.state_dim

    def control(x: Tensor, t: Tensor) -> Tensor:
        with torch.enable_grad():  # ∇W only
            xt = torch.cat([x, t], dim=1).detach().to(torch.float64).requires_grad_(True)
            grad = torch.autograd.grad(net(xt).sum(), xt)[0]
        return model.sigma(t) * grad[:, :d].detach()

    return control


def _check(n: int, steps: int) -> None:
    positive_int(n, "n")
    positive_int(steps, "steps")


def sample(model: DiffusionModel, control: Control, n: int, rng: np.random.Generator, steps: int = 200) -> np.ndarray:
    """X_T (n, d) of dX = (μ + Σu) dt + Σ dW on [0, T) from X_0 ~ p_T (exact noising of data samples).

    The same reverse-time Euler–Maruyama as the DSM baseline (hjb.montecarlo.reverse_time.reverse_sample), with the
    score u/Σ; it stops at noising time 1e-3·T, where the baseline stops too.
    """
    _check(n, steps)
    T = model.horizon

    def score(y: Tensor, s: Tensor) -> Tensor:
        t = T - s
        with torch.enable_grad():  # a control may differentiate a network; reverse_sample runs under no_grad
            return (control(y, t) / model.sigma(t)).detach()

    return reverse_sample(score, model.prior_samples(n, rng), model.noising, rng, s_min=1e-3 * T, steps=steps)


@dataclass(frozen=True)
class IdentityCheck:
    """J(u) (mean cost), the value V(x, t), ½E∫|u − u*|² (gap), the paired estimate of J − gap − V and its
    standard error, in units of V; z = (J − gap − V)/stderr."""

    cost: float
    cost_stderr: float
    value: float
    gap: float
    difference: float
    stderr: float

    @property
    def z(self) -> float:
        """Standardised discrepancy of the identity."""
        return self.difference / self.stderr


def verification_identity(
    model: DiffusionModel, value: Callable[[np.ndarray], np.ndarray], optimal: Control, perturbation: Control,
    x0: np.ndarray, t0: float, paths: int, rng: np.random.Generator, steps: int = 400,
) -> IdentityCheck:
    """Monte Carlo of J(u; x0, t0) for u = u* + δ against V(x0, t0) + ½E∫|u − u*|² (seed §3).

    Each path gives its cost C = ∫(½|u|² − div μ) ds − log p_data(X_T) and gap G = ½∫|u − u*|² ds; the
    identity says E[C − G] = V(x0, t0), so the check uses the paired C − G (smaller variance than C alone).
    `value(xt)` is the cost-to-go V (n,) at xt (n, d + 1); x0 (d,).
    """
    _check(paths, steps)
    d = model.state_dim
    x = torch.as_tensor(np.tile(np.asarray(x0, dtype=float).reshape(1, d), (paths, 1)), dtype=torch.float64)
    dt = (model.horizon - t0) / steps
    cost = torch.zeros(paths, 1, dtype=torch.float64)
    gap = torch.zeros(paths, 1, dtype=torch.float64)

    def step(k: int, t_k: float, x: Tensor) -> tuple[Tensor, Tensor]:
        nonlocal cost, gap
        t = torch.full((paths, 1), t_k, dtype=torch.float64)
        u_star = optimal(x, t)
        u = u_star + perturbation(x, t)
        cost += cost_running(model, u, t) * dt
        gap += 0.5 * ((u - u_star) ** 2).sum(-1, keepdim=True) * dt
        sigma = model.sigma(t)
        return model.mu(x, t) + sigma * u, sigma * np.sqrt(dt) * torch.as_tensor(rng.standard_normal((paths, d)))

    x = euler_maruyama(x, step, t0, dt, steps)
    with torch.no_grad():
        cost -= model.data.log_density(x)
    v0 = float(value(np.append(np.asarray(x0, dtype=float), t0).reshape(1, -1))[0])
    c, g = cost[:, 0].numpy(), gap[:, 0].numpy()
    diff = c - g - v0
    return IdentityCheck(cost=float(c.mean()), cost_stderr=float(c.std(ddof=1) / np.sqrt(paths)), value=v0,
                         gap=float(g.mean()), difference=float(diff.mean()), stderr=float(diff.std(ddof=1) / np.sqrt(paths)))
