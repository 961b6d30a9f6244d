"""Policy evaluation: fit V_θ to ρV = r(x, α(x)) + L^{α(x)}V on collocation points, a ResidualPDE trained by
hjb.nn.pinn_fit, pinned by Feynman–Kac anchor values as weighted PointData."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from hjb.errors import TrainingDivergedError
from hjb.nn.pinn_fit import train_pinn
from hjb.nn.value_network import ValueNetwork
from hjb.pdes.conditions import PointData
from hjb.pdes.generator import estimates_curvature, needs_hessian, value_derivatives
from hjb.pdes.problem import ControlProblem
from hjb.pdes.residual_pde import ResidualPDE
from hjb.pdes.residuals import evaluation_residual, hjb_residual, residual_at
from hjb.solvers.boundary import boundary_condition, boundary_conditions, boundary_points

Tensor = torch.Tensor
EDGE_SEED = 7  # the boundary points of every fit (the measures use fresh ones)


@dataclass(frozen=True)
class EvaluationResult:
    """Final losses of one evaluation, relative to V's scale: PDE residual MSE / (ρ·scale)², anchor MSE / scale² and
    boundary misfit MSE / scale² (hjb.solvers.boundary; 0 without a boundary condition)."""

    pde_loss: float
    anchor_loss: float
    steps: int
    finite: bool
    boundary_loss: float = 0.0


class FrozenActions:
    """α (or any fixed function of x) at the collocation tensor DeepXDE passes at every step (x (n, d) or space-time
    (n, d + 1)), computed once per point set."""

    def __init__(self, policy):
        self.policy, self._x, self._a = policy, None, None

    def __call__(self, x: Tensor) -> Tensor:
        if self._x is None or self._x.shape != x.shape or not torch.equal(self._x, x.detach()):
            self._x = x.detach().clone()
            self._a = self.policy(self._x).detach()
        return self._a


def evaluation_pde(problem: ControlProblem, policy, critic: ValueNetwork, conditions: tuple = ()) -> ResidualPDE:
    """The residual PDE (x, V) ↦ (ρV − r − L^α V) / (ρ·size) on the critic's box for the fixed policy α, size = the
    critic's scale, or with a profile its local size scale·m(x), with the given conditions (anchors, the boundary's);
    paired (n, 2) estimates where the curvature is estimated (hjb.pdes.generator.estimates_curvature)."""
    actions = FrozenActions(policy)
    norms = FrozenActions(lambda x: problem.discount * critic.magnitude(x)[:, None].to(x.dtype))
    d = problem.state_dim
    paired = estimates_curvature(d, problem.check_shapes())

    def residual(x, V, _derivatives):
        # Above FULL_HESSIAN_MAX_DIM the curvature is taken along Σ's k columns, not from the d-row Hessian, or with
        # many columns estimated twice per point (paired residuals (n, 2), trained on mean(R₁R₂)).
        dV, d2V = value_derivatives(V, x, hessian=needs_hessian(d))
        return evaluation_residual(problem, x, V, dV, d2V, actions(x), "paired" if paired else "exact") / norms(x)

    return ResidualPDE(name=f"{problem.name} policy evaluation", residual=residual, domain=critic.box,
                       conditions=conditions, paired=paired)


def hjb_pde(problem: ControlProblem, scale: float = 1.0) -> ResidualPDE:
    """The residual PDE (x, V) ↦ (ρV − max_a {r + L^a V}) / (ρ·scale) on the problem's box, the max at the closed-form
    greedy action.

    Nonlinear and without boundary data it admits spurious solutions (MATH.md §1); hjb solves by policy
    iteration instead and keeps this residual for diagnostics and baselines.
    """
    norm = problem.discount * scale

    def residual(x, V, _derivatives):
        dV, d2V = value_derivatives(V, x, hessian=needs_hessian(x.shape[1], problem.greedy_uses_hessian))
        return hjb_residual(problem, x, V, dV, d2V) / norm

    return ResidualPDE(name=f"{problem.name} HJB", residual=residual, domain=problem.domain)


def evaluate_policy(
    problem: ControlProblem,
    critic: ValueNetwork,
    policy,
    collocation: np.ndarray,
    anchor_x: np.ndarray,
    anchor_v: np.ndarray,
    *,
    adam_steps: int,
    learning_rate: float,
    lbfgs_steps: int,
    anchor_weight: float,
    chunk: int = 500,
    on_chunk=None,
    fit_tol: float | None = None,
    anchor_weights: np.ndarray | None = None,
    fresh_points=None,
) -> EvaluationResult:
    """Train the critic (warm-started) on the policy-evaluation residual plus the anchor PointSetBC, and where the
    problem has a boundary its condition at boundary points (hjb.solvers.boundary), which the residual also covers.

    With fit_tol, L-BFGS stops once the loss is at most fit_tol² (a relative PDE residual rms of fit_tol) or
    has stalled. anchor_weights (n,), by default ones, weigh the anchors' squared misfits. Stops early and reports finite=False when a loss or weight turns NaN/inf, restoring the last finite
    weights (the caller names the PI iteration).
    """
    scale = critic.scale
    # The anchor misfit is measured in V's units; the weight anchor_weight/scale² makes it relative.
    anchors = PointData(anchor_x, anchor_v, np.ones(len(anchor_x)) if anchor_weights is None else anchor_weights)
    edge_conditions, edge_weights = boundary_conditions(problem, critic)
    edge = boundary_points(problem, len(collocation), seed=EDGE_SEED)
    weights = [1.0, anchor_weight / scale**2, *edge_weights]
    anchor_weight = anchor_weight or 1.0  # for reporting the anchor misfit when it is not trained
    last = {"losses": (math.nan, math.nan), "steps": 0, "edge": 0.0}

    def reported(stage: str, steps: int, loss: np.ndarray) -> None:
        last["losses"], last["steps"] = (float(loss[0]), float(loss[1]) / anchor_weight), steps
        last["edge"] = float(np.sum(loss[2:]))
        if on_chunk is not None and stage == "adam":
            on_chunk(steps, *last["losses"])

    if fresh_points is not None and len(edge):  # the boundary points go with every fresh draw
        draw = fresh_points

        def fresh_points(step: int) -> np.ndarray:
            return np.concatenate([draw(step), edge])

    try:
        _, steps = train_pinn(evaluation_pde(problem, policy, critic, (anchors, *edge_conditions)), critic,
                              np.concatenate([collocation, edge]), adam_steps=adam_steps,
                              lbfgs_steps=lbfgs_steps, learning_rate=learning_rate, iteration=0, loss_weights=weights,
                              on_chunk=reported, chunk=chunk, loss_target=None if fit_tol is None else fit_tol**2,
                              fresh_points=fresh_points)
    except TrainingDivergedError:
        return EvaluationResult(*last["losses"], last["steps"], finite=False, boundary_loss=last["edge"])
    return EvaluationResult(*last["losses"], steps, finite=True, boundary_loss=last["edge"])


def probe_residual(problem: ControlProblem, critic: ValueNetwork, policy, x: np.ndarray) -> float:
    """rms over x (n, d) of the evaluation residual ρV − r − L^α V of the critic, ÷ (ρ·V's scale, or its local size
    with a profile): the fit's error on points it was not trained on."""
    xt = torch.as_tensor(x, dtype=torch.float64)
    residual = residual_at(problem, critic, xt, policy(xt))
    if critic.profiled:
        return float(torch.sqrt(torch.mean((residual[:, 0] / critic.magnitude(xt)) ** 2))) / problem.discount
    return float(torch.sqrt(torch.mean(residual**2))) / (problem.discount * critic.scale)


def solve_level(problem: ControlProblem, critic: ValueNetwork, policy, collocation: np.ndarray) -> float:
    """Shift V by δ = −mean(R)/ρ, the constant minimising mean(R + ρδ)² over the collocation points (n, d), R the
    evaluation residual (with a profile m, mean((R + ρδ)/m)²: δ = −Σ R/m² / (ρ Σ 1/m²), the fit's own weighting).
    The level enters the residual only through ρV, the stiffest direction for the optimisers, and the PDE fixes it
    (ρ > 0: a constant is never a free mode); the anchors overrule it only where they disagree with it beyond their
    standard errors (hjb.solvers.anchors.level_shift). Where the problem exits at the box's faces, the boundary
    misfit V − g enters the mean square too. Returns δ."""
    x = torch.as_tensor(collocation, dtype=torch.float64)
    residual = residual_at(problem, critic, x, policy(x))
    if critic.profiled:
        weights = critic.profile(x) ** -2
        mean_residual = float(torch.sum(weights * residual[:, 0]) / torch.sum(weights))
    else:
        mean_residual = float(residual.mean())
    shift = -mean_residual / problem.discount
    if problem.boundary == "exit":
        # V = g on the faces fixes the level too: the constant minimising the fit's own mean(R/ρ + δ)² + mean(V − g + δ)²
        # (both on V's scale), so that the shift does not trade the boundary condition for the residual's mean.
        edge = boundary_points(problem, len(collocation), seed=EDGE_SEED)
        misfit = critic.values(edge) - boundary_condition(problem).value(edge).reshape(-1)
        shift = 0.5 * (shift - float(np.mean(misfit)))
    critic.shift_level(shift)
    return shift
