"""The Fokker–Planck (forward) equation of a controlled diffusion under a feedback policy:
∂_t p = L*p = −div(f p) + ½ Σ_ij ∂_i∂_j((ΣΣᵀ)_ij p), with f = f(x, α(x)), Σ = Σ(x, α(x))."""
from __future__ import annotations

from collections.abc import Callable

import torch

from hjb.pdes.problem import ControlProblem

Tensor = torch.Tensor


def closed_loop(problem: ControlProblem, policy: Callable[[Tensor], Tensor]) -> Callable[[Tensor], tuple[Tensor, Tensor]]:
    """x (n, d) ↦ (f(x, α(x)) (n, d), Σ(x, α(x)) (n, d, k)); α must be differentiable in x (div f needs ∂α/∂x)."""

    def coefficients(x: Tensor) -> tuple[Tensor, Tensor]:
        a = policy(x)
        return problem.drift(x, a), problem.diffusion(x, a)

    return coefficients


def probability_flux(p: Tensor, xt: Tensor, drift: Tensor, diffusion: Tensor) -> Tensor:
    """Flux J (n, d), J_i = f_i p − ½ Σ_j ∂_j((ΣΣᵀ)_ij p), for p (n, 1), f (n, d), Σ (n, d, k) all computed
    in the graph of the points xt (n, d') whose first d columns are x (time, if any, last)."""
    d = drift.shape[1]
    ap = (diffusion @ diffusion.transpose(-1, -2)) * p.unsqueeze(-1)
    cols = []
    for i in range(d):
        spread = sum(torch.autograd.grad(ap[:, i, j].sum(), xt, create_graph=True)[0][:, j] for j in range(d))
        cols.append(drift[:, i] * p[:, 0] - 0.5 * spread)
    return torch.stack(cols, dim=-1)


def adjoint_generator(p: Tensor, xt: Tensor, drift: Tensor, diffusion: Tensor) -> Tensor:
    """L*p = −div J (n, 1), J the probability flux (same arguments as probability_flux)."""
    J = probability_flux(p, xt, drift, diffusion)
    return -sum(torch.autograd.grad(J[:, i].sum(), xt, create_graph=True)[0][:, i] for i in range(J.shape[1])).unsqueeze(-1)


def fokker_planck_residual(
    p: Tensor, xt: Tensor, coefficients: Callable[[Tensor], tuple[Tensor, Tensor]], *, relative: bool = False
) -> Tensor:
    """∂_t p − L*p (n, 1) at xt (n, d + 1) (time last), p (n, 1) computed from xt; relative=True divides by p,
    the log-density form ∂_t log p − L*p/p that weighs the tails like the bulk."""
    d = xt.shape[1] - 1
    drift, diffusion = coefficients(xt[:, :d])
    dpdt = torch.autograd.grad(p.sum(), xt, create_graph=True)[0][:, d:]
    residual = dpdt - adjoint_generator(p, xt, drift, diffusion)
    return residual / p if relative else residual


def stationary_fokker_planck_residual(
    p: Tensor, x: Tensor, coefficients: Callable[[Tensor], tuple[Tensor, Tensor]], *, relative: bool = False
) -> Tensor:
    """L*p (n, 1) at x (n, d) for a stationary density p (n, 1) computed from x; relative=True divides by p."""
    drift, diffusion = coefficients(x)
    residual = adjoint_generator(p, x, drift, diffusion)
    return residual / p if relative else residual

