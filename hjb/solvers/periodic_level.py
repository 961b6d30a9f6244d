"""The level of a periodic problem's V where the process lives: a fitted V_θ with evaluation residual
R = ∂_t V_θ − ρV_θ + r + L^α V_θ differs from V^α by e(x, t) = −E ∫_0^∞ e^{−ρs} R(X_s, t + s) ds along the closed loop
(Feynman–Kac for ρe − ∂_t e − L^α e = −R). For ρ small against the closed loop's mixing rate e is nearly a constant,
−(1/ρ)·(R averaged where the process lives), which a residual small on average over the box does not bound: the
uniform level shift (hjb.solvers.finite_horizon.level_shift) leaves it, 1/ρ times R's mean near the process's states.
Rollouts estimate that constant, the mean over start points of ∫_0^∞ e^{−ρs} R ds. On the periodic LQR (ρ = 0.1) the
uniform shift alone left V 9.8e-3 off, almost all of it a constant (3.4e-3 of 3.5e-3 rms); with this level 4.2e-4."""
from __future__ import annotations

import math

import numpy as np
import torch

from hjb.montecarlo.rollouts import ROLLOUT_STEPS, closed_loop_step

LEVEL_PATHS = 256
LEVEL_HORIZON = 4.0  # in units of 1/ρ: the truncated tail weighs e^{−4} ≈ 2%, taken at the last period's mean R


def occupation_level(problem, residual_pde, net, policy, points: np.ndarray, rng: np.random.Generator) -> float:
    """δ = mean over LEVEL_PATHS start points of E ∫_0^∞ e^{−ρs} R(X_s, t_0 + s) ds (a float), X the closed loop under
    policy(xt) (n, m) from start points drawn from points (n, d + 1), Euler steps of τ/ROLLOUT_STEPS up to
    LEVEL_HORIZON/ρ (times taken mod τ), the tail beyond from the last period's mean R: V^α ≈ V_θ + δ."""
    rho, tau, d = problem.discount, problem.period, problem.state_dim
    start = torch.as_tensor(points[rng.integers(len(points), size=LEVEL_PATHS)], dtype=torch.float64)
    x, t = start[:, :d].clone(), start[:, d:].clone()
    dt = tau / ROLLOUT_STEPS
    steps = int(math.ceil(LEVEL_HORIZON / (rho * dt) / ROLLOUT_STEPS)) * ROLLOUT_STEPS
    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    step = torch.full_like(t, dt)
    total, last_period = torch.zeros(LEVEL_PATHS, dtype=torch.float64), []
    for j in range(steps):
        xt = torch.cat([x, torch.remainder(t, tau)], dim=1).requires_grad_(True)
        R = residual_pde(xt, net(xt)).detach().mean(dim=1)  # a paired estimate (n, 2) is averaged
        finite = torch.isfinite(R)
        total += torch.where(finite, R, torch.zeros_like(R)) * math.exp(-rho * (j + 0.5) * dt) * dt
        if j >= steps - ROLLOUT_STEPS:
            last_period.append(R[finite].mean())
        x, t = closed_loop_step(problem, policy, x, torch.remainder(t, tau), step, generator)
    tail = float(torch.stack(last_period).mean()) * math.exp(-rho * steps * dt) / rho
    return float(total.mean()) + tail
