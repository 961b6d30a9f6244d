"""The exact solve of the orthogonality conditions (hjb.learning.lstd) against independent references: the truncated
normal's moments by quadrature, and on noise-free Euler transitions of a 1-D LQR, whose Bellman fixed point is the
discrete-time Riccati solution of the sampled chain (x' = (1 + AΔt)x + BΔt·a, reward r·Δt, discount e^{−ρΔt})."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import quad

from hjb.geometry import Box
from hjb.learning import lstd
from hjb.learning.adapters import ProblemEnvironment
from hjb.learning.learner import learn
from hjb.learning.lstd import policy_moments
from hjb.learning.transitions import collect_transitions
from hjb.pdes import StochasticLQR
from hjb.settings import QLearningSettings

A, B, Q, R, RHO, DT = -0.5, 1.0, 1.0, 0.5, 0.2, 0.05


@pytest.mark.parametrize("mean, low, high", [(0.3, -1.0, 2.0), (2.5, -1.0, 2.0), (-4.0, -1.0, 2.0), (40.0, -1.0, 2.0),
                                             (-8.0, -1.0, 2.0)])
def test_policy_moments_match_quadrature(mean, low, high):
    """s1 = E[a − c], s2 = E[(a − c)²] (c = clip(μ)) and γE[log π] of N(μ, γ/λ) truncated to [low, high], against
    quad."""
    gamma, lam = 0.3, 0.8
    sd = math.sqrt(gamma / lam)
    centre = min(max(mean, low), high)
    density = lambda a: math.exp(-0.5 * (((a - mean) / sd) ** 2 - ((centre - mean) / sd) ** 2))  # noqa: E731  ∝ π
    mass = quad(density, low, high)[0]
    moment = lambda f: quad(lambda a: f(a) * density(a) / mass, low, high)[0]  # noqa: E731
    t = lambda v: torch.tensor([[v]], dtype=torch.float64)  # noqa: E731
    s1, s2, entropy = policy_moments(t(mean), torch.tensor([lam], dtype=torch.float64), t(low)[0], t(high)[0], gamma)
    assert float(s1) == pytest.approx(moment(lambda a: a - centre), abs=1e-9)
    assert float(s2) == pytest.approx(moment(lambda a: (a - centre) ** 2), abs=1e-9)
    log_density = lambda a: -0.5 * (((a - mean) / sd) ** 2 - ((centre - mean) / sd) ** 2) - math.log(mass)  # noqa: E731
    assert float(entropy) == pytest.approx(gamma * moment(log_density), abs=1e-9)


def _discrete_riccati() -> tuple[float, float]:
    """(K_Δt, λ_Δt): the Euler chain's optimal gain and the a-curvature R + e^{−ρΔt}pB²Δt of its q, from the scalar
    discounted Riccati equation p = QΔt + δÃ²p − (δÃB̃p)²/(RΔt + δB̃²p), iterated to its fixed point."""
    delta, a_t, b_t, p = math.exp(-RHO * DT), 1 + A * DT, B * DT, 1.0
    for _ in range(100_000):
        p = Q * DT + delta * a_t**2 * p - (delta * a_t * b_t * p) ** 2 / (R * DT + delta * b_t**2 * p)
    return delta * b_t * p * a_t / (R * DT + delta * b_t**2 * p), R + delta * p * B**2 * DT


@pytest.mark.parametrize("temperature", [0.0, 0.05])
def test_noise_free_transitions_give_the_discrete_time_optimum(temperature):
    """With D = 0 the TD rates carry no noise: the learner's fixed point is the sampled chain's Bellman fixed point,
    so its gain is K_Δt and its policy variance γ/λ_Δt (the continuous-time K* = 0.936 is 4% away: the test sees the
    discretisation, a wrong solve, and a wrong improvement step)."""
    problem = StochasticLQR(A=[[A]], B=[[B]], Q=[[Q]], R=[[R]], D=[[0.0]], discount=RHO, domain=Box(-2.0, 2.0),
                            action_bounds=([-4.0], [4.0]))
    env = ProblemEnvironment(problem, dt=DT)
    settings = QLearningSettings(transitions=20_000, episode_steps=20, steps=200, window=5, solve_window=10,
                                 batch=256, temperature=temperature)
    rows = collect_transitions(env, settings.transitions, np.random.default_rng(0), settings.episode_steps)
    learned = learn(rows, env.domain, env.action_low, env.action_high, env.discount, settings, progress=False)
    x = np.linspace(-1.0, 1.0, 41)[:, None]
    gain = -np.polyfit(x[:, 0], learned.policy(x)[:, 0], 1)[0]
    K_dt, curvature = _discrete_riccati()
    assert abs(gain / K_dt - 1) < 1e-4
    assert abs(float(learned.head.curvature().detach()[0]) / curvature - 1) < 1e-4
    if temperature:
        assert abs(float(learned.policy_variance()[0]) / (temperature / curvature) - 1) < 1e-4
    assert learned.history[-1]["fixed_point"][-1]["policy_change"] <= settings.policy_tol


def test_jackknife_of_block_means_is_the_standard_error_of_the_mean():
    """For the mean of G equal blocks, the jackknife SE equals s/√G, s the blocks' sample standard deviation."""
    from hjb.learning.lstd import jackknife_se

    blocks = torch.as_tensor(np.random.default_rng(4).normal(size=10), dtype=torch.float64)
    leave_out = (blocks.sum() - blocks) / 9
    assert float(jackknife_se(leave_out)) == pytest.approx(float(blocks.std() / math.sqrt(10)), rel=1e-12)


def test_the_value_standard_error_is_reported_and_zero_without_noise():
    """Noise-free transitions: every block gives the same J (SE ≈ 0 relative to J); with D = 0.3 it is positive."""
    settings = QLearningSettings(transitions=20_000, episode_steps=20, steps=200, window=5, solve_window=10, batch=256)
    for noise, check in ((0.0, lambda r: r["value_se"] < 1e-6 * r["value_rms"]), (0.3, lambda r: r["value_se"] > 1e-4)):
        problem = StochasticLQR(A=[[A]], B=[[B]], Q=[[Q]], R=[[R]], D=[[noise]], discount=RHO, domain=Box(-2.0, 2.0),
                                action_bounds=([-4.0], [4.0]))
        env = ProblemEnvironment(problem, dt=DT)
        rows = collect_transitions(env, settings.transitions, np.random.default_rng(0), settings.episode_steps)
        learned = learn(rows, env.domain, env.action_low, env.action_high, env.discount, settings, progress=False)
        assert check(learned.history[-1]["fixed_point"][-1])


def _double_integrator_discrete_gain(dt: float, rho: float) -> np.ndarray:
    """K_Δt (1, 2) of the noise-free double integrator's Euler chain (Q = 2I, R = 0.2 in r = −½(sᵀQs + aᵀRa)):
    P = ½QΔt + δÃᵀPÃ − δÃᵀPB̃ K, K = (½RΔt + δB̃ᵀPB̃)⁻¹δB̃ᵀPÃ, iterated to its fixed point."""
    delta, a_t, b_t = math.exp(-rho * dt), np.array([[1.0, dt], [0.0, 1.0]]), np.array([[0.0], [dt]])
    P = np.eye(2)
    for _ in range(100_000):
        K = np.linalg.solve(0.1 * dt + delta * b_t.T @ P @ b_t, delta * b_t.T @ P @ a_t)
        P = np.eye(2) * dt + delta * a_t.T @ P @ a_t - delta * a_t.T @ P @ b_t @ K
    return K


def test_noise_free_double_integrator_reaches_the_discrete_time_gain_by_annealing(monkeypatch):
    """The 2-D double integrator without noise, whose zero policy lets the state drift for ever: policy iteration
    from the middle action with the discount annealed from 1/T to ρ reaches the chain's gain K_Δt (the monomials hold
    its quadratic J and linear policy whatever the learnt features); at ρ from the first round it does not (gain
    error 5.4 at 20 000 transitions: the zero policy's value is not in the data)."""
    problem = StochasticLQR(A=[[0.0, 1.0], [0.0, 0.0]], B=[[0.0], [1.0]], Q=[[2.0, 0.0], [0.0, 2.0]], R=[[0.2]],
                            D=[[0.0], [0.0]], discount=0.1, domain=Box([-0.5, -0.5], [0.5, 0.5]),
                            action_bounds=([-30.0], [30.0]))  # the greedy policy never reaches the bound
    env = ProblemEnvironment(problem, dt=0.01)
    settings = QLearningSettings(transitions=20_000, episode_steps=10, steps=200, window=5, solve_window=10, batch=256)
    rows = collect_transitions(env, settings.transitions, np.random.default_rng(0), settings.episode_steps)
    grid = Box([-0.5, -0.5], [0.5, 0.5]).grid(11)

    def gain() -> np.ndarray:
        learned = learn(rows, env.domain, env.action_low, env.action_high, env.discount, settings, progress=False)
        assert learned.history[-1]["discount"] == 0.1
        return -np.linalg.lstsq(np.column_stack([np.ones(len(grid)), grid]), learned.policy(grid), rcond=None)[0][1:].T

    K_dt = _double_integrator_discrete_gain(0.01, 0.1)
    assert np.max(np.abs(gain() / K_dt - 1)) < 1e-3
    monkeypatch.setattr(lstd, "discounts", lambda start, discount, rounds: [discount] * rounds)
    assert np.max(np.abs(gain() / K_dt - 1)) > 0.1
