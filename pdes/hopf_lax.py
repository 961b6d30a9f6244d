"""A deterministic problem with a non-smooth value (Hopf–Lax): ẋ = a, |a| ≤ c, no running reward, terminal reward
g(x) = −½|x|². Its HJB −∂_t V = c|∇V| (first order, Σ ≡ 0) has the viscosity solution
V(t, x) = max_{|y − x| ≤ c(T − t)} g(y) = −½ max(|x| − c(T − t), 0)², C¹ but not C² on the sphere |x| = c(T − t)."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from hjb.errors import positive_int
from hjb.geometry.box import Box
from hjb.pdes.finite_horizon import FiniteHorizonProblem

Tensor = torch.Tensor


def hopf_lax(dim: int = 2, horizon: float = 1.0, speed: float = 1.0, half_width: float = 2.0,
             name: str = "hopf_lax", state_names: Sequence[str] | None = None,
             action_names: Sequence[str] | None = None) -> FiniteHorizonProblem:
    """The problem above in `dim` dimensions on [−h, h]^d × [0, T] with |a| ≤ speed c; greedy action
    a = c∇V/|∇V| (any a with |a| ≤ c where ∇V = 0: there the greedy a = c∇V/max(|∇V|, 1e-12) stays in the ball)."""
    d = positive_int(dim, "dim")
    c = float(speed)

    def greedy_action(x: Tensor, t: Tensor, dV: Tensor, d2V) -> Tensor:
        return c * dV / torch.clamp(torch.linalg.vector_norm(dV, dim=1, keepdim=True), min=1e-12)

    return FiniteHorizonProblem(
        name=name,
        drift=lambda x, a, t: a,
        diffusion=lambda x, a, t: torch.zeros(x.shape[0], d, 1, dtype=x.dtype),
        reward=lambda x, a, t: torch.zeros(x.shape[0], 1, dtype=x.dtype),
        terminal=lambda x: -0.5 * (x * x).sum(-1, keepdim=True),
        horizon=horizon, domain=Box([-half_width] * d, [half_width] * d), action_dim=d,
        greedy_action=greedy_action, greedy_uses_hessian=False,
        parameters={"dim": d, "horizon": horizon, "speed": c, "half_width": half_width},
        state_names=state_names, action_names=action_names,
    )
