"""Merton's portfolio: wealth dX = [r_f + π(μ − r_f) − k] X dt + πσX dW, reward (kX)^{1−γ}/(1−γ)."""
from __future__ import annotations

import math

import torch

from hjb.errors import ProblemError
from hjb.geometry.box import Box
from hjb.pdes.problem import ControlProblem


def merton_growth(r_f: float, mu: float, sigma: float, gamma: float) -> float:
    """Certainty-equivalent growth rate M = r_f + (μ − r_f)² / (2γσ²)."""
    return r_f + (mu - r_f) ** 2 / (2.0 * gamma * sigma**2)


def check_merton_parameters(r_f: float, mu: float, sigma: float, gamma: float, discount: float) -> None:
    """Raise ProblemError unless σ > 0, γ > 0, γ ≠ 1, ρ > 0 and ρ − (1−γ)M > 0 (finite lifetime utility)."""
    values = {"r_f": r_f, "mu": mu, "sigma": sigma, "gamma": gamma, "discount": discount}
    for key, value in values.items():
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ProblemError(f"Merton parameter {key} must be a finite number; got {value!r}")
    if sigma <= 0:
        raise ProblemError(f"Merton volatility sigma must be > 0; got {sigma}")
    if gamma <= 0 or gamma == 1:
        raise ProblemError(f"Merton risk aversion gamma must be > 0 and ≠ 1; got {gamma}")
    if discount <= 0:
        raise ProblemError(f"discount must be a positive number (ρ > 0); got {discount}")
    gap = discount - (1.0 - gamma) * merton_growth(r_f, mu, sigma, gamma)
    if gap <= 0:
        raise ProblemError(
            f"infeasible Merton parameters: ρ − (1−γ)M = {gap:.6g} ≤ 0, lifetime utility is infinite; "
            "expected a larger discount or risk aversion"
        )


class Merton(ControlProblem):
    """Merton's consumption–investment problem; state x = wealth > 0, action a = (π, k = c/x), named
    ("wealth",) and ("pi", "consumption_rate").

    Greedy action from V: π = −(μ − r_f) V′ / (σ² x V″), k = (V′)^{−1/γ} / x, clipped into the bounds.
    Initial policy: π = 0, k = k₀ = (ρ − (1−γ) r_f)/γ, the optimal consumption without the risky asset (k₀ = ρ for
    log utility). Its value is finite for every feasible (γ, ρ): the utility flow then decays at the rate
    ρ − (1−γ)(r_f − k₀) = k₀ > 0. Consuming at k = ρ is not admissible once ρ + (γ−1)(r_f − ρ) ≤ 0
    (γ = 3, ρ = 0.06 or γ = 5, ρ = 0.04: wealth shrinks at ρ − r_f while x^{1−γ} grows faster than e^{ρt}).
    """

    def __init__(
        self,
        r_f: float = 0.03,
        mu: float = 0.08,
        sigma: float = 0.20,
        gamma: float = 2.0,
        discount: float = 0.05,
        domain: Box | None = None,
        action_bounds=((-5.0, 1e-4), (5.0, 2.0)),
        name: str = "merton",
    ):
        check_merton_parameters(r_f, mu, sigma, gamma, discount)
        # Default wealth box [0.2, 12.5] ⊃ [0.5, 5]: the evaluation PDE admits the homogeneous solutions
        # x^λ± on any truncated box, and anchors at wider ends shrink their trace on the inner range.
        domain = domain if domain is not None else Box(0.2, 12.5, scale="log")
        if domain.dim != 1 or domain.lo[0] <= 0:
            raise ProblemError(f"Merton's domain must be a 1-D wealth interval with lo > 0; got {domain!r}")
        self.r_f, self.mu, self.sigma, self.gamma = r_f, mu, sigma, gamma
        excess = mu - r_f

        def drift(x, a):
            return (r_f + a[:, 0:1] * excess - a[:, 1:2]) * x

        def diffusion(x, a):
            return (a[:, 0:1] * sigma * x).unsqueeze(-1)

        def reward(x, a):
            consumption = (a[:, 1:2] * x).clamp(min=1e-12)
            return consumption.pow(1.0 - gamma) / (1.0 - gamma)

        riskless_consumption = (discount - (1.0 - gamma) * r_f) / gamma
        if riskless_consumption <= 0:
            raise ProblemError(
                f"Merton's start k₀ = (ρ − (1−γ) r_f)/γ = {riskless_consumption:.6g} ≤ 0 has no finite value; "
                "expected ρ > (1−γ)·r_f"
            )

        def initial_policy(x):
            zeros = torch.zeros_like(x[:, :1])
            return torch.cat([zeros, zeros + riskless_consumption], dim=1)

        def greedy_action(x, dV, d2V):
            dv, d2v = dV[:, :1], d2V[:, 0, :1]
            # Valid where V is increasing and concave; elsewhere the bounds take over after clipping.
            pi = -excess * dv / (sigma**2 * x * d2v.clamp(max=-1e-12))
            k = dv.clamp(min=1e-12).pow(-1.0 / gamma) / x
            return torch.cat([pi, k], dim=1)

        super().__init__(
            name=name,
            drift=drift,
            diffusion=diffusion,
            reward=reward,
            discount=discount,
            domain=domain,
            action_dim=2,
            action_bounds=action_bounds,
            initial_policy=initial_policy,
            greedy_action=greedy_action,
            parameters={"r_f": r_f, "mu": mu, "sigma": sigma, "gamma": gamma, "discount": discount},
            state_names=("wealth",),
            action_names=("pi", "consumption_rate"),
        )
