"""Checks of the starting policy α₀ before any training: finite coefficients, and a start that is not singular.

Policy iteration evaluates α₀ first. If f, Σ or r under α₀ are NaN/inf somewhere on the collocation set,
training would run a whole iteration before failing; if r(x, α₀(x)) sits on a singularity of the reward
(zero consumption under a power utility gives r ≈ −10¹⁵), V^{α₀} is astronomically far from the optimum and
training diverges. Both are refused in one line, before training.
"""
from __future__ import annotations

import numpy as np
import torch

from hjb.errors import ProblemError

Tensor = torch.Tensor

# r(x, α₀) more than this many times the best nearby reward's magnitude (median over the points) is singular.
SINGULAR_RATIO = 1e6
# Perturbations of each action component, in units of its bound width (or max(1, |α₀|) when unbounded): ±1% only.
# A singular start (zero consumption) is left by orders of magnitude even by a 1% move, whereas a steep but regular
# reward changes by a bounded factor: Merton's consumption k = ρ under γ = 5 gains a factor 5 from a 1% move and 6·10⁶
# from a move of the whole bound width, which had refused it as singular. (Whether a start's value is finite is the
# problem's to declare: k = ρ has an infinite one there; Merton's start is the riskless optimum k₀.)
STEPS = (-0.01, 0.01)


def _point(x: Tensor, i: int) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in x[i].tolist()) + "]"


def check_finite(problem, x: Tensor, a: Tensor, extra: tuple[Tensor, ...] = ()) -> None:
    """ProblemError naming the first of drift, diffusion, reward that is NaN/inf at some x (n, d) under a (n, m)."""
    args = (x, a) + extra
    if not torch.isfinite(a).all():
        i = int((~torch.isfinite(a)).reshape(len(a), -1).any(1).nonzero()[0, 0])
        raise ProblemError(f"initial_policy is not finite at x = {_point(x, i)}; expected finite actions on the domain")
    for label in ("drift", "diffusion", "reward"):
        with torch.no_grad():
            value = getattr(problem, label)(*args)
        bad = ~torch.isfinite(value).reshape(len(x), -1).all(1)
        if bad.any():
            i = int(bad.nonzero()[0, 0])
            raise ProblemError(
                f"{label} is not finite under the initial policy at x = {_point(x, i)} "
                f"(a = {_point(a, i)}); expected finite values on the whole collocation domain"
            )


def _nearby_actions(problem, a: Tensor) -> list[Tensor]:
    """α₀ with one component moved by each of STEPS (scaled), clipped into the bounds: a list of (n, m)."""
    bounds = problem.action_bounds
    if bounds is not None:
        width = torch.as_tensor(np.where(np.isfinite(bounds[1] - bounds[0]), bounds[1] - bounds[0], 1.0), dtype=a.dtype)
    out = []
    for j in range(a.shape[1]):
        scale = width[j] if bounds is not None else torch.clamp(a[:, j].abs(), min=1.0)
        for step in STEPS:
            moved = a.clone()
            moved[:, j] = moved[:, j] + step * scale
            out.append(problem.clip_action(moved))
    return out


def singular_ratio(problem, x: Tensor, a: Tensor, extra: tuple[Tensor, ...] = ()) -> float:
    """median_x |r(x, α₀)| / |max over nearby actions of r(x, a)|, counted only where the nearby action is better."""
    with torch.no_grad():
        r0 = problem.reward(x, a, *extra)[:, 0]
        best = r0.clone()
        for candidate in _nearby_actions(problem, a):
            r = problem.reward(x, candidate, *extra)[:, 0]
            best = torch.where(torch.isfinite(r) & (r > best), r, best)
    ratio = torch.where(best > r0, r0.abs() / best.abs().clamp(min=1e-300), torch.ones_like(r0))
    return float(ratio.median())


def check_start(problem, x: np.ndarray, extra: tuple[Tensor, ...] = ()) -> None:
    """Refuse, in one line, an initial policy with non-finite coefficients or a singular reward on x (n, d)."""
    xt = torch.as_tensor(x, dtype=torch.float64)
    with torch.no_grad():
        a = problem.initial_policy(xt, *extra)
    check_finite(problem, xt, a, extra)
    ratio = singular_ratio(problem, xt, a, extra)
    if ratio > SINGULAR_RATIO:
        declared = "the declared initial_policy" if problem.has_initial_policy else "the default initial policy a ≡ 0"
        raise ProblemError(
            f"{declared} is not admissible: its reward is {ratio:.1e} times larger in magnitude than at nearby "
            "actions (a singular reward, e.g. zero consumption); declare initial_policy(x) with an admissible "
            "starting policy"
        )
