"""Closed-loop rollouts from an initial law (hjb.montecarlo.rollouts) against the exact marginals of an OU process."""
import numpy as np
import pytest
import torch

from hjb.errors import ProblemError, ShapeError
from hjb.geometry import Box
from hjb.montecarlo.rollouts import ROLLOUT_STEPS, visited_space_time
from hjb.pdes.finite_horizon import FiniteHorizonProblem

THETA, SIGMA, S0, T = 1.5, 0.6, 0.8, 2.0


def _ou(law=lambda n, rng: S0 * rng.standard_normal((n, 1))):
    """dX = (a − θX) dt + σ dW, X_0 ~ N(0, S0²); under a ≡ 0 X_t ~ N(0, S0²e^{−2θt} + σ²(1 − e^{−2θt})/(2θ))."""
    return FiniteHorizonProblem(
        name="ou", drift=lambda x, a, t: a - THETA * x, diffusion=lambda x, a, t: torch.full_like(x, SIGMA)[:, :, None],
        reward=lambda x, a, t: -(x**2), terminal=lambda x: torch.zeros_like(x), horizon=T, domain=Box([-3.0], [3.0]),
        action_dim=1, initial_law=law)


def _zero_policy(xt):
    return torch.zeros(xt.shape[0], 1, dtype=xt.dtype)


def test_rollout_states_have_the_exact_ou_marginals_and_cover_the_horizon():
    points = visited_space_time(_ou(), _zero_policy, 4000, np.random.default_rng(0))
    assert points.shape == (4000 * ROLLOUT_STEPS, 2)
    x, t = points[:, 0], points[:, 1]
    assert t.min() > 0 and t.max() <= T
    # times: uniform over (0, T] (each path's phase is uniform): mean T/2 within 4 se
    assert abs(t.mean() - T / 2) <= 4 * t.std() / np.sqrt(4000)
    for lo in np.arange(0.0, T, 0.4):
        inside = (t >= lo) & (t < lo + 0.05)
        tm = t[inside].mean()
        variance = S0**2 * np.exp(-2 * THETA * tm) + SIGMA**2 * (1 - np.exp(-2 * THETA * tm)) / (2 * THETA)
        se = variance * np.sqrt(2.0 / inside.sum())
        # Euler's bias at dt = T/50 is O(dt) = 4e-2 relative at most; the se dominates at this count
        assert abs(x[inside].var() - variance) <= 4 * se + 0.04 * variance


def test_the_closed_loop_policy_drives_the_paths():
    """a = −κx doubles the mean reversion: the variance near T is that of θ + κ."""
    kappa = 1.5
    points = visited_space_time(_ou(), lambda xt: -kappa * xt[:, :1], 4000, np.random.default_rng(1))
    late = points[points[:, 1] > T - 0.05, 0]
    rate = THETA + kappa
    variance = S0**2 * np.exp(-2 * rate * T) + SIGMA**2 * (1 - np.exp(-2 * rate * T)) / (2 * rate)
    assert abs(late.var() - variance) <= 4 * variance * np.sqrt(2.0 / len(late)) + 0.1 * variance


@pytest.mark.parametrize(("law", "error"), [
    (lambda n, rng: np.zeros((n, 2)), ShapeError),
    (lambda n, rng: np.full((n, 1), np.nan), ProblemError),
])
def test_a_bad_initial_law_is_refused(law, error):
    with pytest.raises(error, match="initial_law"):
        visited_space_time(_ou(law), _zero_policy, 8, np.random.default_rng(0))


def test_an_initial_law_must_be_callable():
    with pytest.raises(ProblemError, match="initial_law must be callable"):
        _ou(law=3.0)


def test_a_finite_horizon_problem_with_an_initial_law_trains_on_its_rollouts(fresh_draws):
    """The scheme draws its collocation and probe points from the closed-loop rollouts (times in (0, T]) and every
    Adam step of its fit from the rollout pool."""
    from hjb.progress import Progress
    from hjb.settings import FiniteHorizonSettings
    from hjb.solvers.finite_horizon import FiniteHorizonScheme

    problem = _ou()
    problem.greedy_action = lambda x, t, dV, d2V: 0.5 * dV
    problem.terminal = lambda x: -(x**2)
    s = FiniteHorizonSettings(width=8, depth=1, collocation=32, adam_steps_first=5, pde_lbfgs_steps=50,
                              probe_points=64, max_iterations=1)
    scheme = FiniteHorizonScheme(problem, s, Progress(1, enabled=False), "hjb")
    assert scheme.rollouts and scheme.pool.shape == (4 * 32 * ROLLOUT_STEPS, 2)
    for points in (scheme.points, scheme.probe):
        assert 0 < points[:, 1].min() and points[:, 1].max() <= T
    pool = {tuple(row) for row in scheme.pool}
    record = scheme.evaluate(0, scheme.initial_policy(), [])
    drawn = fresh_draws
    assert len(drawn) == 5 + 50 and all(tuple(row) in pool for batch in drawn for row in batch)  # L-BFGS's budget too
    assert np.isfinite(record["pde_loss"])
