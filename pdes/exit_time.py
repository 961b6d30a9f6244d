"""The discounted exit time of Brownian motion from an interval: dX = σ dW on [−L, L], reward 1 until X exits,
discount ρ, nothing on exit. V(x) = E_x ∫_0^τ e^{−ρt} dt = (1 − E_x e^{−ρτ})/ρ solves ρV = 1 + ½σ²V″ with V(±L) = 0;
its closed form is in hjb.validation.exit_time."""
from __future__ import annotations

import math

import torch

from hjb.errors import ProblemError
from hjb.geometry.box import Box
from hjb.pdes.problem import ControlProblem


def exit_time(sigma: float = 1.0, discount: float = 0.5, half_width: float = 1.0, name: str = "exit_time"
              ) -> ControlProblem:
    """ρV = 1 + ½σ²V″ on [−L, L] with V(±L) = 0 (boundary="exit"); the one action is fixed (a ≡ 0 in [0, 0])."""
    values = {"sigma": sigma, "discount": discount, "half_width": half_width}
    for label, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
            raise ProblemError(f"exit_time needs {label} > 0 (a finite number); got {value!r}")
    s, L = float(sigma), float(half_width)

    def drift(x, a):
        return torch.zeros_like(x)

    def diffusion(x, a):
        return torch.full((x.shape[0], 1, 1), s, dtype=x.dtype)

    def reward(x, a):
        return torch.ones(x.shape[0], 1, dtype=x.dtype)

    def greedy_action(x, dV, d2V):
        return torch.zeros(x.shape[0], 1, dtype=x.dtype)

    return ControlProblem(name=name, drift=drift, diffusion=diffusion, reward=reward, discount=float(discount),
                          domain=Box(-L, L), action_dim=1, action_bounds=([0.0], [0.0]), greedy_action=greedy_action,
                          greedy_uses_hessian=False, boundary="exit",
                          parameters={key: float(v) for key, v in values.items()})
