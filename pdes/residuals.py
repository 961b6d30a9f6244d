"""Residuals derived from a ControlProblem: the Hamiltonian, policy evaluation and the HJB."""
from __future__ import annotations

import torch

from hjb.errors import ProblemError
from hjb.pdes.generator import generator, needs_hessian, value_derivatives
from hjb.pdes.problem import ControlProblem

Tensor = torch.Tensor


def hamiltonian(problem: ControlProblem, x: Tensor, a: Tensor, dV: Tensor, d2V: Tensor | None,
                curvature: str = "exact") -> Tensor:
    """r(x, a) + L^a V(x) (n, 1) for x (n, d), a (n, m), ∇V (n, d), ∇²V (n, d, d) (or None: the curvature along Σ's
    columns from ∇V's graph to x, exactly or estimated: hjb.pdes.generator.generator's curvature)."""
    return problem.reward(x, a) + generator(dV, d2V, problem.drift(x, a), problem.diffusion(x, a), x, curvature)


def evaluation_residual(
    problem: ControlProblem, x: Tensor, V: Tensor, dV: Tensor, d2V: Tensor | None, a: Tensor,
    curvature: str = "exact",
) -> Tensor:
    """Policy-evaluation residual ρV − r(x, α(x)) − L^{α(x)} V (n, 1), linear in V, for fixed a = α(x) (n, m)
    (d2V None: see hamiltonian; (n, 2) with curvature="paired")."""
    return problem.discount * V - hamiltonian(problem, x, a, dV, d2V, curvature)


def greedy(problem: ControlProblem, x: Tensor, dV: Tensor, d2V: Tensor) -> Tensor:
    """The problem's closed-form argmax_a {r + L^a V} (n, m), clipped into the action bounds."""
    if problem.greedy_action is None:
        raise ProblemError(f"problem {problem.name!r} declares no greedy_action; pass the maximising action instead")
    return problem.clip_action(problem.greedy_action(x, dV, d2V))


def hjb_residual(
    problem: ControlProblem, x: Tensor, V: Tensor, dV: Tensor, d2V: Tensor, a: Tensor | None = None
) -> Tensor:
    """HJB residual ρV − max_a {r + L^a V} (n, 1); the max is taken at `a`, or at the closed-form greedy action."""
    if a is None:
        a = greedy(problem, x, dV, d2V)
    return evaluation_residual(problem, x, V, dV, d2V, a)


def residual_at(problem: ControlProblem, value, x: Tensor, a: Tensor | None = None) -> Tensor:
    """Detached ρV − r − L^a V (n, 1) of value: (n, d) -> (n, 1) at x (n, d), float64, at a (n, m) or, when None, the
    closed-form greedy action; ∇²V only where needs_hessian, else the curvature along Σ's columns, or, where training
    estimates it (estimates_curvature), an unbiased estimate from DIAGNOSTIC_PROBES probes per point."""
    hessian = needs_hessian(x.shape[1], a is None and problem.greedy_action is not None and problem.greedy_uses_hessian)
    with torch.enable_grad():
        xg = x.detach().clone().requires_grad_(True)
        V = value(xg)
        dV, d2V = value_derivatives(V, xg, create_graph=not hessian, hessian=hessian)
        if a is None:
            a = greedy(problem, xg.detach(), dV.detach(), None if d2V is None else d2V.detach())
        if hessian:
            with torch.no_grad():
                return evaluation_residual(problem, xg.detach(), V.detach(), dV.detach(), d2V, a.detach())
        return evaluation_residual(problem, xg, V, dV, None, a.detach(), "auto").detach()
