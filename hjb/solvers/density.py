"""Fokker–Planck by PINN: the law p(x, t) of a closed-loop diffusion from an initial law p_0 on box × [0, T].

The residual is a ResidualPDE trained by hjb.nn.pinn_fit. The network carries q = log p with q(·, 0) = log p_0 hard-wired (ValueNetwork), so p = e^q > 0; it is
trained on the log-density form of the equation, (∂_t p − L*p)/p = 0, which weighs the tails like the
bulk. The truncated box gets no boundary condition: none is exact there (a zero-flux condition, J·n = 0,
is wrong in this form, since J/p is O(1) in the far tails of a law out of equilibrium, and measured 10×
worse on the 1-D OU case). ∫p is reported, not imposed.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from hjb.geometry.box import Box
from hjb.geometry.spacetime import SpaceTime
from hjb.nn.pinn_fit import train_pinn
from hjb.nn.value_network import FixedTime, ValueNetwork
from hjb.pdes.fokker_planck import (
    adjoint_generator,
    fokker_planck_residual,
    stationary_fokker_planck_residual,
)
from hjb.pdes.residual_pde import ResidualPDE
from hjb.progress import Progress
from hjb.settings import FOKKER_PLANCK_SETTINGS, FokkerPlanckSettings
from hjb.solvers.iteration import seed_everything

Tensor = torch.Tensor
Coefficients = Callable[[Tensor], tuple[Tensor, Tensor]]


class DensitySolution:
    """A solved Fokker–Planck equation: log p, p and ∫p on grids of the cylinder."""

    def __init__(self, net: ValueNetwork, domain: SpaceTime, history: list[dict], settings: FokkerPlanckSettings):
        self.net, self.domain, self.history, self.settings = net, domain, history, settings

    def log_density(self, xt: np.ndarray) -> np.ndarray:
        """log p (n,) at xt (n, d + 1)."""
        return self.net.values(xt)

    def density(self, xt: np.ndarray) -> np.ndarray:
        """p (n,) at xt (n, d + 1)."""
        return np.exp(self.log_density(xt))

    def mass(self, t: float, per_axis: int = 201) -> float:
        """∫_box p(x, t) dx by the trapezoidal rule on per_axis^d points."""
        return self.domain.box.integrate(lambda x: self.density(self.domain.at_time(x, t)), per_axis)


def _fit_residual(pde: ResidualPDE, net, points: np.ndarray, s: FokkerPlanckSettings, progress: Progress
                  ) -> list[dict]:
    """One fit of net to the residual PDE on the collocation points (no boundary data); the loss history."""
    history: list[dict] = []

    def on_chunk(stage: str, steps: int, losses: np.ndarray) -> None:
        history.append({"stage": stage, "steps": steps, "pde_loss": float(losses.sum())})
        progress.message(f"{stage} step {steps:5d} | pde {float(losses.sum()):.2e}")

    train_pinn(pde, net, points, adam_steps=s.adam_steps_first, lbfgs_steps=s.pde_lbfgs_steps,
               learning_rate=s.learning_rate, iteration=0, on_chunk=on_chunk)
    return history


def initial_rate(coefficients: Coefficients, initial_log_density: Callable[[Tensor], Tensor], x: np.ndarray) -> float:
    """RMS over x (n, d) of ∂_t log p at t0, which the equation gives as L*p_0/p_0: the scale of the network's output."""
    xt = torch.as_tensor(x, dtype=torch.float64).requires_grad_(True)
    p0 = torch.exp(initial_log_density(xt))
    drift, diffusion = coefficients(xt)
    rate = (adjoint_generator(p0, xt, drift, diffusion) / p0).detach()
    return max(float(torch.sqrt(torch.mean(rate**2))), 1e-12)


def solve_fokker_planck(
    coefficients: Coefficients,
    initial_log_density: Callable[[Tensor], Tensor],
    domain: SpaceTime,
    settings: FokkerPlanckSettings | None = None,
    progress: Progress | bool = True,
) -> DensitySolution:
    """Fit q = log p to (∂_t p − L*p)/p = 0 on the cylinder with q(·, t0) = log p_0 hard-wired; coefficients(x) = (f (n, d), Σ (n, d, k)) of the closed loop (hjb.pdes.fokker_planck.closed_loop)."""
    s = settings or FOKKER_PLANCK_SETTINGS
    if not isinstance(progress, Progress):
        progress = Progress(1, enabled=bool(progress), label="fokker-planck")
    seed_everything(s.seed)
    d = domain.dim
    points = domain.sample(s.collocation, s.sampling, seed=s.seed)
    rate = initial_rate(coefficients, initial_log_density, points[:, :d])
    net = ValueNetwork(domain, s.width, s.depth, FixedTime(initial_log_density, at="start", rate=rate))

    def residual(xt, q, _derivatives):
        return fokker_planck_residual(torch.exp(q), xt, coefficients, relative=True)

    pde = ResidualPDE(name="fokker-planck", residual=residual, domain=domain)
    return DensitySolution(net, domain, _fit_residual(pde, net, points, s, progress), s)



def differentiable_policy(policy) -> Callable[[Tensor], Tensor]:
    """The differentiable form of a solver policy (greedy: through ∇V_θ; actor: its network), for closed_loop."""
    if hasattr(policy, "differentiable"):
        return policy.differentiable
    if hasattr(policy, "action"):
        return policy.action
    return policy


class StationaryDensitySolution:
    """A stationary law p = e^{c + N_θ(x)} on a box, normalised so that ∫_box p = 1 (trapezoidal rule)."""

    def __init__(self, critic: ValueNetwork, box: Box, history: list[dict], settings: FokkerPlanckSettings, per_axis: int):
        self.critic, self.box, self.history, self.settings = critic, box, history, settings
        self.log_normaliser = 0.0
        self.log_normaliser = float(np.log(self.mass(per_axis)))

    def log_density(self, x: np.ndarray) -> np.ndarray:
        """log p (n,) at x (n, d)."""
        return self.critic.value(torch.as_tensor(x, dtype=torch.float64)).numpy() - self.log_normaliser

    def density(self, x: np.ndarray) -> np.ndarray:
        """p (n,) at x (n, d)."""
        return np.exp(self.log_density(x))

    def mass(self, per_axis: int = 101) -> float:
        """∫_box p dx by the trapezoidal rule on per_axis^d points."""
        return self.box.integrate(self.density, per_axis)


def solve_stationary_fokker_planck(
    coefficients: Coefficients, box: Box, settings: FokkerPlanckSettings | None = None, progress: Progress | bool = True,
    per_axis: int = 101,
) -> StationaryDensitySolution:
    """Fit log p = N_θ to L*p/p = 0 on the box (the equation fixes p up to a factor), then normalise ∫p = 1
    by quadrature on per_axis^d points. Output scale of N_θ: 5 (log-densities span O(10) over ±4 std)."""
    s = settings or FOKKER_PLANCK_SETTINGS
    if not isinstance(progress, Progress):
        progress = Progress(1, enabled=bool(progress), label="stationary-fokker-planck")
    seed_everything(s.seed)
    critic = ValueNetwork(box, s.width, s.depth)
    critic.set_output_scale(0.0, 5.0)

    def residual(x, q, _derivatives):
        return stationary_fokker_planck_residual(torch.exp(q), x, coefficients, relative=True)

    pde = ResidualPDE(name="stationary-fokker-planck", residual=residual, domain=box)
    points = box.sample(s.collocation, s.sampling, seed=s.seed)
    return StationaryDensitySolution(critic, box, _fit_residual(pde, critic, points, s, progress), s, per_axis)
