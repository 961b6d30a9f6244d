"""DeepBSDE's HJB-LQ benchmark (Han, Jentzen, E 2018): ∂_t u + Δu − λ|∇u|² = 0, u(T, x) = ln((1 + |x|²)/2).

u is the least cost E[∫_t^T |m_s|² ds + g(X_T)] of dX = 2√λ m dt + √2 dW; hjb maximises, so its value is V = −u with
reward −|a|², terminal reward −g and greedy action a* = argmax_a {−|a|² + 2√λ a·∇V} = √λ ∇V, which turns
∂_t V + max_a {r + L^a V} = 0 into ∂_t V + ΔV + λ|∇V|² = 0. The exact u is hjb.validation.hjb_lqg.hjb_lqg_value.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from hjb.errors import ProblemError, positive_int
from hjb.geometry.box import Box
from hjb.pdes.finite_horizon import FiniteHorizonProblem

# Uncontrolled, X_t = √2 W_t from 0 has per-coordinate sd √(2T) at T; 4 sd leave a coordinate with probability
# 6e-5 (≈ 0.6 % of paths in d = 100 at some coordinate), and the optimal drift −2λ∇u points to 0, tightening it.
HALF_WIDTH_SDS = 4.0


def _positive(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ProblemError(f"{name} must be a finite number > 0; got {value!r}") from None
    if isinstance(value, bool) or not (math.isfinite(number) and number > 0):
        raise ProblemError(f"{name} must be a finite number > 0; got {value!r}")
    return number


def hjb_lqg(dim: int = 100, lam: float = 1.0, horizon: float = 1.0, half_width: float | None = None,
            name: str = "hjb_lqg100d", state_names: Sequence[str] | None = None,
            action_names: Sequence[str] | None = None) -> FiniteHorizonProblem:
    """dX = 2√λ a dt + √2 dW in R^d, r = −|a|² (n, 1), g = −ln((1 + |x|²)/2) (n, 1), a* = √λ∇V (n, d), on the box
    [−h, h]^d × [0, T] with h = 4√(2T) unless given."""
    d = positive_int(dim, "dim")
    lam = _positive(lam, "lam (λ)")
    T = _positive(horizon, "the horizon T")
    h = HALF_WIDTH_SDS * math.sqrt(2.0 * T) if half_width is None else _positive(half_width, "half_width")
    speed, root_lam = 2.0 * math.sqrt(lam), math.sqrt(lam)
    noise = math.sqrt(2.0) * torch.eye(d, dtype=torch.float64)
    log2 = math.log(2.0)

    def drift(x, a, t):
        return speed * a

    def diffusion(x, a, t):
        return noise.expand(x.shape[0], d, d)

    def reward(x, a, t):
        return -(a * a).sum(dim=-1, keepdim=True)

    def terminal(x):
        return log2 - torch.log1p((x * x).sum(dim=-1, keepdim=True))

    def greedy_action(x, t, dV, d2V):
        return root_lam * dV

    return FiniteHorizonProblem(
        name=name, drift=drift, diffusion=diffusion, reward=reward, terminal=terminal, horizon=T,
        domain=Box([-h] * d, [h] * d), action_dim=d, greedy_action=greedy_action, greedy_uses_hessian=False,
        parameters={"dim": d, "lam": lam, "horizon": T}, state_names=state_names, action_names=action_names,
    )
