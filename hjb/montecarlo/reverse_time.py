"""Reverse-time tools for a diffusion model's score, any callable s(y (n, d), s (n, 1)) → (n, d) on float64 tensors,
learned (a PINN's control, a DSM network) or exact: reverse-time sampling by Euler–Maruyama (hjb.montecarlo.sde)
and log-densities by the probability-flow ODE (RK4)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from hjb.errors import ProblemError, positive_int
from hjb.montecarlo.sde import euler_maruyama
from hjb.pdes.noising import VPNoising

Tensor = torch.Tensor
F64 = torch.float64
ScoreFn = Callable[[Tensor, Tensor], Tensor]


def times_column(s, n: int, horizon: float, positive: bool = False) -> Tensor:
    """Noising times as a float64 column (n, 1) from a scalar or an array (n,), each in [0, T] ((0, T] if positive)."""
    try:
        arr = np.asarray(s, dtype=float)
    except (TypeError, ValueError):
        raise ProblemError(f"the noising time s must be a number or an array (n,); got {s!r}") from None
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    arr = arr.reshape(-1)
    if arr.size != n:
        raise ProblemError(f"the noising time s must be a scalar or have shape ({n},); got {np.shape(s)}")
    low_ok = np.all(arr > 0) if positive else np.all(arr >= 0)
    if not (np.all(np.isfinite(arr)) and low_ok and np.all(arr <= horizon)):
        span = f"(0, {horizon}]" if positive else f"[0, {horizon}]"
        raise ProblemError(f"the noising time s must lie in {span} (T = {horizon}); got values outside it")
    return torch.as_tensor(arr, dtype=F64).reshape(n, 1)


def points_tensor(y, dim: int | None = None) -> Tensor:
    """Evaluation points as a float64 tensor (n, d), checked finite (and of dimension `dim` if given)."""
    try:
        arr = np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise ProblemError("points y must be a numeric array of shape (n, d)") from None
    if arr.ndim != 2 or (dim is not None and arr.shape[1] != dim):
        want = f"(n, {dim})" if dim is not None else "(n, d)"
        raise ProblemError(f"points y must have shape {want}; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ProblemError("points y contain NaN or inf; expected finite values")
    return torch.as_tensor(arr, dtype=F64)


def reverse_sample(score_fn: ScoreFn, y_T, noising: VPNoising, rng: np.random.Generator, *,
                   s_min: float = 1e-3, steps: int = 500) -> np.ndarray:
    """Samples (n, d) of p_{s_min} by Euler–Maruyama on dY = [−½βY − β s(Y, s)] ds + √β dB̄ from s = T down to s_min.

    y_T (n, d) are draws of p_T; each step is Y ← Y + h[½β Y + β s(Y, s)] + √(β h) ξ at the current s, h = (T − s_min)/steps.
    """
    steps = positive_int(steps, "steps")
    T = noising.horizon
    if not (0.0 < s_min < T):
        raise ProblemError(f"s_min must lie in (0, T) = (0, {T}); got {s_min!r}")
    y = points_tensor(y_T)
    n, d = y.shape
    h = (T - s_min) / steps

    def step(k: int, s_k: float, y: Tensor) -> tuple[Tensor, Tensor]:
        s = torch.full((n, 1), s_k, dtype=F64)
        b = noising.beta(s)
        xi = torch.as_tensor(rng.standard_normal((n, d)), dtype=F64)
        return 0.5 * b * y + b * score_fn(y, s), torch.sqrt(b * h) * xi

    with torch.no_grad():  # s runs from T down to s_min: a negative time step
        return euler_maruyama(y, step, T, -h, steps).numpy()


def _flow_and_divergence(score_fn: ScoreFn, y: Tensor, s: Tensor, noising: VPNoising) -> tuple[Tensor, Tensor]:
    """Probability-flow velocity f = −½β(y + s(y, s)) (n, d) and its exact divergence −½β(d + ∇·s) (n, 1)."""
    with torch.enable_grad():
        y = y.detach().requires_grad_(True)
        sc = score_fn(y, s)
        d = y.shape[1]
        div = torch.zeros(y.shape[0], dtype=F64)
        for i in range(d if sc.requires_grad else 0):  # a score not depending on y has divergence 0
            (g,) = torch.autograd.grad(sc[:, i].sum(), y, retain_graph=i < d - 1, allow_unused=True)
            if g is not None:
                div = div + g[:, i]
    b = noising.beta(s)
    return (-0.5 * b * (y + sc)).detach(), (-0.5 * b * (d + div.unsqueeze(-1))).detach()


def probability_flow_log_density(score_fn: ScoreFn, y, s, noising: VPNoising,
                                 log_p_T: Callable[[Tensor], Tensor], steps: int = 100,
                                 positive: bool = False) -> np.ndarray:
    """log p_s(y) (n,) = log p_T(Y_T) + ∫_s^T ∇·f(Y_u, u) du along dY/du = f = −½β(Y + s(Y, u)), Y_s = y (n, d).

    Fixed-step RK4 on (Y, ∫∇·f) with `steps` steps from each point's s (scalar or (n,)) to T; the divergence is
    exact (autograd, d backward passes per stage). `log_p_T` maps (n, d) to (n,) or (n, 1). positive=True
    rejects s = 0 (for scores singular there, like the ε-parametrised s_θ).
    """
    steps = positive_int(steps, "steps")
    T = noising.horizon
    y = points_tensor(y)
    n = y.shape[0]
    u = times_column(s, n, T, positive)
    h = (T - u) / steps
    acc = torch.zeros(n, 1, dtype=F64)
    for _ in range(steps):
        k1, l1 = _flow_and_divergence(score_fn, y, u, noising)
        k2, l2 = _flow_and_divergence(score_fn, y + 0.5 * h * k1, u + 0.5 * h, noising)
        k3, l3 = _flow_and_divergence(score_fn, y + 0.5 * h * k2, u + 0.5 * h, noising)
        k4, l4 = _flow_and_divergence(score_fn, y + h * k3, u + h, noising)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        acc = acc + h / 6.0 * (l1 + 2.0 * l2 + 2.0 * l3 + l4)
        u = u + h
    with torch.no_grad():
        end = log_p_T(y).reshape(n)
    return (end + acc.reshape(n)).numpy()
