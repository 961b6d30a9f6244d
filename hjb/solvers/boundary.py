"""A control problem's boundary behaviour as a condition of its evaluation fit and of its status: exit is the
Dirichlet condition V = g on ∂box (g the boundary reward), reflection the Neumann condition ∇V·n = 0; both built
with hjb.pdes.conditions (the residual PDEs' conditions over DeepXDE's classes), so there is one implementation."""
from __future__ import annotations

import numpy as np
import torch

from hjb.nn.value_network import ValueNetwork
from hjb.pdes import conditions as cond
from hjb.pdes.problem import ControlProblem

BOUNDARY_FRACTION = 0.25  # boundary points per collocation point, spread evenly over the faces (1-D: the two ends)


def boundary_condition(problem: ControlProblem) -> cond.Dirichlet | cond.Neumann | None:
    """Dirichlet(g) for boundary "exit", Neumann(0) for "reflect", None for "none"."""
    if problem.boundary == "exit":
        def reward(x: np.ndarray) -> np.ndarray:
            return problem.boundary_reward(torch.as_tensor(x, dtype=torch.float64)).detach().numpy()

        return cond.Dirichlet(reward)
    if problem.boundary == "reflect":
        return cond.Neumann(0.0)
    return None


def boundary_points(problem: ControlProblem, collocation: int, seed: int) -> np.ndarray:
    """BOUNDARY_FRACTION × collocation points (m, d) on the box's faces, duplicates dropped (in 1-D the faces are
    two points); (0, d) without a boundary condition."""
    condition, box = boundary_condition(problem), problem.domain
    if condition is None:
        return np.empty((0, box.dim))
    n = max(int(round(BOUNDARY_FRACTION * collocation)), 2 * box.dim)
    return np.unique(cond.condition_points(condition, box, set(), n, seed), axis=0)


def normal_scale(problem: ControlProblem) -> float:
    """h, the smallest half-width of the box: ∂V/∂n·h is a change of V across the box, measured on V's size."""
    return float(np.min(problem.domain.hi - problem.domain.lo)) / 2.0


def boundary_conditions(problem: ControlProblem, critic: ValueNetwork) -> tuple[tuple, list[float]]:
    """(the evaluation fit's boundary conditions, their loss weights): V − g measured on V's scale (weight 1/scale²),
    or ∂V/∂n·h on it ((h/scale)², normal_scale), so that the boundary misfit counts as much as the PDE residual
    relative to ρ·scale; ((), []) without a boundary condition."""
    condition = boundary_condition(problem)
    if condition is None:
        return (), []
    unit = normal_scale(problem) if isinstance(condition, cond.Neumann) else 1.0
    return (condition,), [(unit / critic.scale) ** 2]


def boundary_misfit(problem: ControlProblem, critic: ValueNetwork, points: np.ndarray) -> float:
    """rms over boundary points (m, d) of V − g (exit) or ∂V/∂n·h (reflect), ÷ V's scale; 0 without a boundary."""
    condition = boundary_condition(problem)
    if condition is None or len(points) == 0:
        return 0.0
    x = torch.as_tensor(points, dtype=torch.float64)
    if isinstance(condition, cond.Dirichlet):
        misfit = critic.value(x).numpy() - cond.value_column(condition.value)(points)[:, 0]
    else:
        box = problem.domain
        normal = np.zeros_like(points)
        for i in range(box.dim):
            normal[np.isclose(points[:, i], box.lo[i]), i] = -1.0
            normal[np.isclose(points[:, i], box.hi[i]), i] = 1.0
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-300)
        misfit = (critic.gradient(x).numpy() * normal).sum(axis=1) * normal_scale(problem)
    return float(np.sqrt(np.mean(misfit**2))) / critic.scale
