"""A control problem's boundary in the evaluation fit and the status (hjb.solvers.boundary): the condition's points,
its misfit, V's level where the process exits, and fits of exit_time (Dirichlet) and of a reflected Brownian motion
(Neumann) against their closed forms."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hjb.geometry import Box
from hjb.nn.value_network import ValueNetwork
from hjb.pdes import ControlProblem
from hjb.pdes.exit_time import exit_time
from hjb.pdes.residuals import residual_at
from hjb.settings import SolverSettings
from hjb.solvers.boundary import boundary_misfit, boundary_points, normal_scale
from hjb.solvers.evaluation import EDGE_SEED, evaluate_policy, solve_level
from hjb.solvers.stopping import status
from hjb.validation.exit_time import exit_time_solution

F64 = torch.float64


def _zero_policy(x):
    return torch.zeros(x.shape[0], 1, dtype=x.dtype)


def _reflected(rho=0.5, sigma=1.0, L=1.0) -> ControlProblem:
    """dX = σ dW reflected at ±L, r = cos(πx/L): V = cos(πx/L)/(ρ + ½σ²π²/L²), ∇V·n = 0 at ±L."""
    return ControlProblem(name="reflected", drift=lambda x, a: torch.zeros_like(x),
                          diffusion=lambda x, a: torch.full((x.shape[0], 1, 1), sigma, dtype=x.dtype),
                          reward=lambda x, a: torch.cos(math.pi * x / L), discount=rho, domain=Box(-L, L),
                          action_dim=1, boundary="reflect")


def _plane(boundary: str) -> ControlProblem:
    return ControlProblem(name="plane", drift=lambda x, a: torch.zeros_like(x),
                          diffusion=lambda x, a: torch.eye(2, dtype=x.dtype).expand(x.shape[0], 2, 2),
                          reward=lambda x, a: torch.ones(x.shape[0], 1, dtype=x.dtype), discount=1.0,
                          domain=Box([0.0, -1.0], [2.0, 3.0]), action_dim=1, boundary=boundary)


def test_boundary_points_lie_on_the_faces():
    box = Box([0.0, -1.0], [2.0, 3.0])
    points = boundary_points(_plane("exit"), 256, seed=0)
    on_face = np.isclose(points, box.lo) | np.isclose(points, box.hi)
    assert len(points) == 64 and np.all(on_face.any(axis=1)) and np.all(box.contains(points))
    assert all(on_face[:, i].sum() >= 16 for i in range(2))  # both axes' faces are covered
    assert boundary_points(exit_time(), 256, seed=0).tolist() == [[-1.0], [1.0]]  # 1-D: the two ends, once each
    assert boundary_points(_plane("none"), 256, seed=0).shape == (0, 2)


def test_neumann_misfit_is_the_normal_derivative():
    problem = _plane("reflect")
    critic = ValueNetwork(problem.domain, 16, 2)
    critic.set_output_scale(0.3, 2.0)
    x = np.array([[0.0, 0.5], [2.0, 1.0], [1.0, -1.0], [0.7, 3.0]])
    h = 1e-6
    slopes = []
    for point, (axis, sign) in zip(x, [(0, -1), (0, 1), (1, -1), (1, 1)], strict=True):
        step = np.zeros(2)
        step[axis] = h
        slopes.append(sign * (critic.values((point + step)[None]) - critic.values((point - step)[None]))[0] / (2 * h))
    expected = math.sqrt(np.mean(np.square(slopes))) * normal_scale(problem) / critic.scale
    assert normal_scale(problem) == 1.0
    assert boundary_misfit(problem, critic, x) == pytest.approx(expected, rel=1e-6)
    assert boundary_misfit(_plane("none"), critic, x) == 0.0


def test_exit_level_balances_residual_and_boundary():
    problem = exit_time()
    critic = ValueNetwork(problem.domain, 16, 2)
    critic.set_output_scale(1.0, 0.5)
    collocation = problem.domain.sample(64, "sobol", seed=0)
    shift = solve_level(problem, critic, _zero_policy, collocation)
    x = torch.as_tensor(collocation, dtype=F64)
    mean_residual = float(residual_at(problem, critic, x, _zero_policy(x)).mean())
    edge = boundary_points(problem, len(collocation), seed=EDGE_SEED)
    assert shift != 0.0
    # The shift zeroes the derivative of mean(R/ρ + δ)² + mean(V − g + δ)², so after it mean(R)/ρ + mean(V − g) = 0.
    assert mean_residual / problem.discount + float(np.mean(critic.values(edge))) == pytest.approx(0.0, abs=1e-10)


def test_status_needs_the_boundary_condition_met():
    s = SolverSettings()
    record = {"hjb_residual_rms": 1e-3, "value_change": 1e-4, "policy_change": 0.0, "anchor_chi2_final": 1.0,
              "anchor_precision": s.anchor_stderr, "anchor_capped": False}
    assert status([{**record, "boundary_misfit": 0.5 * s.residual_tol}], s) == "converged"
    assert status([{**record, "boundary_misfit": 2.0 * s.residual_tol}], s) == "not_converged"
    assert status([record], s) == "converged"  # no boundary: nothing to meet


def _fit(problem, reference, seed=0):
    torch.manual_seed(seed)
    critic = ValueNetwork(problem.domain, 32, 2)
    x = problem.domain.grid(101)
    values = reference(x)
    critic.set_output_scale(float(values.mean()), float(values.std()))
    collocation = problem.domain.sample(128, "sobol", seed=seed)
    anchors = problem.domain.spread_points(4, seed=1)
    result = evaluate_policy(problem, critic, _zero_policy, collocation, anchors, np.zeros(4), adam_steps=1500,
                             learning_rate=3e-3, lbfgs_steps=500, anchor_weight=0.0, fit_tol=1e-5)
    solve_level(problem, critic, _zero_policy, collocation)
    error = np.linalg.norm(critic.values(x) - values) / np.linalg.norm(values)
    return result, error, critic


def test_exit_fit_meets_the_dirichlet_condition():
    problem = exit_time()
    reference = exit_time_solution(problem).value
    result, error, critic = _fit(problem, reference)
    assert result.finite and result.boundary_loss < 1e-6
    assert error < 5e-3
    assert boundary_misfit(problem, critic, np.array([[-1.0], [1.0]])) < 1e-3


def test_reflected_fit_meets_the_neumann_condition():
    problem = _reflected()
    L, rho = 1.0, 0.5
    def reference(x):
        return np.cos(math.pi * x[:, 0] / L) / (rho + 0.5 * math.pi**2 / L**2)
    result, error, critic = _fit(problem, reference)
    assert result.finite and result.boundary_loss < 1e-6
    assert error < 5e-3
    assert boundary_misfit(problem, critic, np.array([[-1.0], [1.0]])) < 1e-3


def test_exit_steps_resolve_the_box():
    from hjb.solvers.anchors import EXIT_RESOLUTION, horizon_and_step

    s = SolverSettings()
    for sigma, L in ((1.0, 1.0), (0.6, 0.5)):
        problem = exit_time(sigma=sigma, discount=0.5, half_width=L)
        probe = problem.domain.sample(64, "sobol", seed=0)
        horizon, dt = horizon_and_step(problem, _zero_policy, probe, s)
        assert horizon == pytest.approx(s.anchor_tail / 0.5)
        # σ√dt = EXIT_RESOLUTION·L, below the floor T/anchor_max_steps that a problem without exits keeps
        assert sigma * math.sqrt(dt) == pytest.approx(EXIT_RESOLUTION * L, rel=1e-12)
        assert dt < horizon / s.anchor_max_steps
    free = _reflected()
    assert horizon_and_step(free, _zero_policy, free.domain.sample(64, "sobol", seed=0), s)[1] == pytest.approx(
        s.anchor_tail / 0.5 / s.anchor_steps)
