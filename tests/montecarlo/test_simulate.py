"""hjb.montecarlo.simulate: the seed LQR's mean cumulative discounted reward under the Riccati policy against the
closed form V(x0) − e^{−ρT}E[V(X_T)], the left-point rule exactly on the Euler scheme's own moments, common random
numbers, a model-free environment as stepper, the finite-horizon clock and terminal reward, and the box's faces."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hjb.errors import ProblemError, ShapeError
from hjb.geometry.box import Box
from hjb.montecarlo.simulate import (
    ProblemStepper,
    environment_stepper,
    rollout,
    stationary,
    time_grid,
)
from hjb.pdes import ControlProblem, seed_lqr
from hjb.pdes.finite_horizon import FiniteHorizonProblem
from hjb.validation.riccati import lqr_solution

X0 = 1.5


def closed_loop(problem):
    """(λ = A − BK, σ², Riccati solution) of the seed LQR's optimal closed loop dX = λX dt + σ dW."""
    riccati = lqr_solution(problem)
    lam = float(problem.A[0, 0] - problem.B[0, 0] * riccati.K[0, 0])
    return lam, float(problem.D[0, 0] ** 2), riccati


def test_lqr_optimal_reward_matches_riccati():
    """E ∫_0^T e^{−ρs} r ds = V(x0) − e^{−ρT} E[V(X_T)], X_T of the Ornstein–Uhlenbeck closed loop, within 4 s.e.
    (dt = 10⁻³: the Euler and left-point bias, ≈ −0.7·dt here, is half a standard error)."""
    problem = seed_lqr()
    lam, var, riccati = closed_loop(problem)
    T, rho = 20.0, problem.discount
    result = rollout(stationary(riccati.policy), ProblemStepper(problem), np.array([X0]), time_grid(T, 1e-3),
                     paths=1024, discount=rho, seed=0)
    second_moment = X0**2 * math.exp(2 * lam * T) + var / (-2 * lam) * (1 - math.exp(2 * lam * T))
    tail = -0.5 * riccati.P[0, 0] * second_moment - riccati.c
    expected = riccati.value(np.array([[X0]]))[0] - math.exp(-rho * T) * tail
    assert result.stderr() < 2e-3  # tight enough to see a 1% error in V(1.5) ≈ −0.419
    assert abs(result.mean() - expected) <= 4 * result.stderr(), (result.mean(), result.stderr(), expected)


def test_left_point_rule_on_the_euler_scheme():
    """On the Euler chain X_{k+1} = (1 + λh)X_k + σ√h ξ, E C_S = Σ_k e^{−ρ t_k} h·(−½)(Q + RK²) E X_k² exactly; a
    right-point rule or a discount read at t_{k+1} would be off by ≈ 0.1, fifty standard errors."""
    problem = seed_lqr()
    lam, var, riccati = closed_loop(problem)
    h, T = 0.05, 5.0
    times = time_grid(T, h)
    result = rollout(stationary(riccati.policy), ProblemStepper(problem), np.array([X0]), times, paths=4000,
                     discount=problem.discount, seed=1)
    weight = -0.5 * (problem.Q[0, 0] + problem.R[0, 0] * riccati.K[0, 0] ** 2)
    moment, expected = X0**2, 0.0
    for t in times[:-1]:
        expected += math.exp(-problem.discount * t) * h * weight * moment
        moment = (1 + lam * h) ** 2 * moment + var * h
    assert abs(result.mean() - expected) <= 4 * result.stderr(), (result.mean(), result.stderr(), expected)
    assert result.stderr() < 2e-3


def test_shapes_and_common_random_numbers():
    """Same seed, same noise: two policies' paths differ, their Brownian increments X_{k+1} − X_k − f·dt do not."""
    problem = seed_lqr()
    times = time_grid(1.0, 0.1)
    optimal = stationary(lqr_solution(problem).policy)
    first = rollout(optimal, ProblemStepper(problem), np.array([X0]), times, paths=8, discount=0.1, seed=3)
    again = rollout(optimal, ProblemStepper(problem), np.array([X0]), times, paths=8, discount=0.1, seed=3)
    idle = rollout(stationary(lambda x: np.zeros((len(x), 1))), ProblemStepper(problem), np.array([X0]), times,
                   paths=8, discount=0.1, seed=3)
    assert first.times.shape == (11,) and first.paths.shape == (8, 11, 1) and first.actions.shape == (8, 10, 1)
    assert first.cumulative.shape == (8, 11) and np.all(first.cumulative[:, 0] == 0)
    np.testing.assert_array_equal(first.cumulative, again.cumulative)

    def increments(r):
        x, a = r.paths[:, :-1, 0], r.actions[:, :, 0]
        return r.paths[:, 1:, 0] - x - (problem.A[0, 0] * x + problem.B[0, 0] * a) * 0.1

    assert not np.allclose(first.paths, idle.paths)
    np.testing.assert_allclose(increments(first), increments(idle), atol=1e-12)


class LQREnvironment:
    """A model-free stand-in (the hjb.learning Environment interface): the seed LQR's Euler step, reward r."""

    name, dt, discount = "lqr_env", 0.1, 0.1

    def step(self, x, a, rng):
        noise = rng.standard_normal((len(x), 1)) * math.sqrt(self.dt) * 0.3
        reward = -0.5 * (x[:, 0] ** 2 + 0.1 * a[:, 0] ** 2)
        return x + (-0.5 * x + a) * self.dt + noise, reward


def test_environment_stepper_rolls_out_like_the_model():
    env, problem = LQREnvironment(), seed_lqr()
    policy = stationary(lqr_solution(problem).policy)
    times = time_grid(2.0, env.dt)
    model = rollout(policy, ProblemStepper(problem), np.array([X0]), times, paths=16, discount=0.1, seed=5)
    free = rollout(policy, environment_stepper(env), np.array([X0]), times, paths=16, discount=env.discount, seed=5)
    np.testing.assert_allclose(free.paths, model.paths, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(free.cumulative, model.cumulative, rtol=1e-12, atol=1e-12)
    with pytest.raises(ProblemError, match="steps by dt = 0.1"):
        rollout(policy, environment_stepper(env), np.array([X0]), time_grid(2.0, 0.05), paths=2, discount=0.1, seed=0)


def drifting_problem(terminal_weight: float = 2.0) -> FiniteHorizonProblem:
    """dX = t dt (no noise), r = x, g = terminal_weight·x on [0, 1]: X_t = x0 + t²/2."""
    return FiniteHorizonProblem(
        name="drift_in_t", drift=lambda x, a, t: t.expand_as(x), diffusion=lambda x, a, t: torch.zeros(len(x), 1, 1,
                                                                                                       dtype=x.dtype),
        reward=lambda x, a, t: x, terminal=lambda x: terminal_weight * x, horizon=1.0, domain=Box(-2.0, 2.0),
        action_dim=1, discount=0.5)


def test_finite_horizon_clock_and_terminal_reward():
    """The stepper's clock drives f(x, a, t) = t; C_T = Σ e^{−ρt_k} X_k h + e^{−ρT} g(X_T), all deterministic."""
    problem, h = drifting_problem(), 0.01
    times = time_grid(1.0, h)
    result = rollout(stationary(lambda x: np.zeros((len(x), 1))), ProblemStepper(problem), np.array([0.0]), times,
                     paths=2, discount=0.5, seed=0, terminal=lambda x: 2.0 * x[:, 0])
    x_exact = times**2 / 2
    np.testing.assert_allclose(result.paths[0, :, 0], x_exact, atol=h)  # Euler: O(h)
    x = result.paths[0, :, 0]
    expected = np.sum(np.exp(-0.5 * times[:-1]) * x[:-1] * h) + math.exp(-0.5) * 2.0 * x[-1]
    np.testing.assert_allclose(result.final, expected, rtol=1e-12)


def flat_problem(boundary: str) -> ControlProblem:
    """dX = dW on [−1, 1], r = 1, ρ = 1, boundary reward 10 where the paths exit."""
    return ControlProblem(
        name="flat", drift=lambda x, a: torch.zeros_like(x), diffusion=lambda x, a: torch.ones(len(x), 1, 1,
                                                                                                  dtype=x.dtype),
        reward=lambda x, a: torch.ones(len(x), 1, dtype=x.dtype), discount=1.0, domain=Box(-1.0, 1.0), action_dim=1,
        boundary=boundary, boundary_reward=(lambda x: torch.full((len(x), 1), 10.0, dtype=x.dtype))
        if boundary == "exit" else None)


def test_reflecting_faces_keep_paths_in_the_box():
    result = rollout(stationary(lambda x: np.zeros((len(x), 1))), ProblemStepper(flat_problem("reflect")),
                     np.array([0.9]), time_grid(2.0, 0.05), paths=64, discount=1.0, seed=0)
    assert np.all(np.abs(result.paths) <= 1.0) and np.any(np.abs(result.paths) > 0.95)


def test_exiting_paths_stop_and_collect_the_boundary_reward():
    """Each path that leaves stops on a face, earns e^{−ρt_k}(h + 10) in its exit step (rate r + g/h) and 0 after."""
    h = 0.05
    result = rollout(stationary(lambda x: np.zeros((len(x), 1))), ProblemStepper(flat_problem("exit")),
                     np.array([0.5]), time_grid(3.0, h), paths=64, discount=1.0, seed=0)
    on_face = np.abs(result.paths[:, :, 0]) == 1.0
    assert on_face[:, -1].sum() > 32  # most paths exit within t = 3
    for path, cumulative, face in zip(result.paths[:, :, 0], result.cumulative, on_face, strict=True):
        if not face[-1]:
            continue
        k = int(np.argmax(face))  # the first state on the face: the path stopped in step k − 1
        assert np.all(path[k:] == path[k]) and np.all(cumulative[k:] == cumulative[k])
        earned = cumulative[k] - cumulative[k - 1]
        assert earned == pytest.approx(math.exp(-result.times[k - 1]) * (h + 10.0), rel=1e-12)


def test_bad_shapes_and_divergence_raise():
    problem, times = seed_lqr(), time_grid(1.0, 0.1)
    with pytest.raises(ShapeError, match="policy returned shape"):
        rollout(stationary(lambda x: np.zeros(len(x))), ProblemStepper(problem), np.array([X0]), times, paths=4,
                discount=0.1, seed=0)
    with pytest.raises(ProblemError, match="diverged at t = "):
        rollout(stationary(lambda x: np.full((len(x), 1), np.inf)), ProblemStepper(problem), np.array([X0]), times,
                paths=4, discount=0.1, seed=0)


def test_optimal_policy_lookup():
    """Riccati's −Kx for an unbounded StochasticLQR, Merton's constant (π*, k*), None for anything else."""
    from hjb.pdes import Merton, StochasticLQR
    from hjb.validation.merton import merton_solution
    from hjb.validation.optimal_policy import optimal_policy

    x = np.array([[-1.0], [0.5]])
    lqr = optimal_policy(seed_lqr())
    np.testing.assert_allclose(lqr(x), -x @ lqr_solution(seed_lqr()).K.T)
    assert "Riccati" in lqr.source
    bounded = StochasticLQR(A=[[-0.5]], B=[[1.0]], Q=[[1.0]], R=[[0.1]], D=[[0.3]], discount=0.1,
                            action_bounds=([-0.5], [0.5]))
    assert optimal_policy(bounded) is None  # the clipped −Kx is not optimal
    merton, exact = optimal_policy(Merton()), merton_solution(Merton())
    np.testing.assert_allclose(merton(x), [[exact.pi, exact.k]] * 2)
    assert optimal_policy(flat_problem("reflect")) is None and optimal_policy(drifting_problem()) is None
