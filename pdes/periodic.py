"""Time-periodic discounted control: maximise E ∫_t^∞ e^{−ρ(s−t)} r(X_s, a_s, s) ds for
dX = f(X, a, s) ds + Σ(X, a, s) dW whose coefficients repeat with period τ in s.

The value is then τ-periodic in t (seed Appendix C): ρV = max_a {r(t, x, a) + ∂_t V + L_t^a V} on box × [0, τ) with
V(·, 0) = V(·, τ), solved by the finite-horizon policy-iteration engine on a value network that is periodic in t by
construction (hjb.nn.value_network.PeriodicTime).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from hjb.errors import positive
from hjb.geometry.box import Box
from hjb.pdes.finite_horizon import FiniteHorizonProblem, TimedFn

Tensor = torch.Tensor


def _no_terminal(x: Tensor) -> Tensor:
    """0 (n, 1): a periodic problem has no terminal reward (used only to size V from max_a r); 0·Σx keeps x's graph."""
    return 0.0 * x.sum(-1, keepdim=True)


PERIOD_REQUIREMENT = "the period τ must be a positive number"


class PeriodicProblem(FiniteHorizonProblem):
    """drift(x, a, t) -> (n, d), diffusion(x, a, t) -> (n, d, k), reward(x, a, t) -> (n, 1), each τ-periodic in t, for
    x (n, d), a (n, m), t (n, 1) on box × [0, τ]; discount ρ > 0. Optional greedy_action(x, t, ∇V, ∇²V) -> (n, m)
    (greedy_uses_hessian as for FiniteHorizonProblem) and initial_policy(x, t) -> (n, m). Points are space-time (x, t)
    with t ∈ [0, τ]; V at any other t is V at t mod τ."""

    def __init__(
        self,
        *,
        name: str,
        drift: TimedFn,
        diffusion: TimedFn,
        reward: TimedFn,
        discount: float,
        period: float,
        domain: Box,
        action_dim: int,
        greedy_action: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor] | None = None,
        greedy_uses_hessian: bool = True,
        initial_policy: Callable[[Tensor, Tensor], Tensor] | None = None,
        parameters: Mapping[str, Any] | None = None,
        state_names: Sequence[str] | None = None,
        action_names: Sequence[str] | None = None,
    ):
        tau = positive(period, PERIOD_REQUIREMENT)
        rho = positive(discount, "a periodic problem needs a discount ρ > 0")
        super().__init__(name=name, drift=drift, diffusion=diffusion, reward=reward, terminal=_no_terminal,
                         horizon=tau, domain=domain, action_dim=action_dim, greedy_action=greedy_action,
                         greedy_uses_hessian=greedy_uses_hessian, initial_policy=initial_policy,
                         parameters=parameters, discount=rho, state_names=state_names,
                         action_names=action_names)
        self.period = tau

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, d={self.state_dim}, m={self.action_dim}, τ={self.period}, "
                f"ρ={self.discount})")

    def describe(self) -> dict:
        """JSON-ready description: FiniteHorizonProblem's, with the period (the horizon field holds τ too)."""
        return {**super().describe(), "period": self.period}
