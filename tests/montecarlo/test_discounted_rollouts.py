"""Closed-loop states of a discounted problem from its initial law (hjb.montecarlo.rollouts.visited_states), and the
discounted scheme that trains on them."""
import numpy as np
import pytest
import torch

from hjb.errors import ProblemError
from hjb.geometry import Box
from hjb.montecarlo.rollouts import ROLLOUT_STEPS, visited_states
from hjb.pdes.problem import ControlProblem

THETA, SIGMA, S0, RHO = 1.0, 0.6, 0.8, 0.5


def _ou(law=lambda n, rng: S0 * rng.standard_normal((n, 1)), box=(-6.0, 6.0), drift=None):
    """dX = (a − θX) dt + σ dW on a box, X_0 ~ N(0, S0²) by default."""
    return ControlProblem(
        name="ou", drift=drift or (lambda x, a: a - THETA * x),
        diffusion=lambda x, a: torch.full_like(x, SIGMA)[:, :, None], reward=lambda x, a: -(x**2) - a**2,
        discount=RHO, domain=Box([box[0]], [box[1]]), action_dim=1, initial_law=law,
        greedy_action=lambda x, dV, d2V: 0.5 * dV, greedy_uses_hessian=False)


def _zero(x):
    return torch.zeros(x.shape[0], 1, dtype=x.dtype)


def _euler_second_moment(steps: int = ROLLOUT_STEPS, nodes: int = 400) -> float:
    """E X² over the recorded states of the Euler scheme itself (step h = 1/(ρ·steps), the first one u·h with
    u ~ U(0, 1)): v ← (1 − θh)²v + σ²h from v = S0², averaged over the steps and over u (midpoint rule)."""
    h, total = 1.0 / (RHO * steps), 0.0
    for u in (np.arange(nodes) + 0.5) / nodes:
        v = (1 - THETA * u * h) ** 2 * S0**2 + SIGMA**2 * u * h
        moments = [v]
        for _ in range(steps - 1):
            v = (1 - THETA * h) ** 2 * v + SIGMA**2 * h
            moments.append(v)
        total += np.mean(moments)
    return total / nodes


def test_visited_states_have_the_second_moment_of_the_euler_ou_process():
    """Under a ≡ 0 on a wide box (clipping at 10 standard deviations never acts) the mean of X² over the recorded
    states equals the scheme's own E X² within 4 standard errors (per-path means are independent)."""
    paths = 4000
    states = visited_states(_ou(), _zero, paths, np.random.default_rng(0))
    assert states.shape == (paths * ROLLOUT_STEPS, 1)
    per_path = (states[:, 0] ** 2).reshape(ROLLOUT_STEPS, paths).mean(axis=0)
    se = per_path.std(ddof=1) / np.sqrt(paths)
    assert abs(per_path.mean() - _euler_second_moment()) <= 4 * se


def test_visited_states_stay_in_the_box_and_follow_the_policy():
    """A drift pushing right piles the states at the box's upper face; a policy a = −κx narrows them."""
    pushed = visited_states(_ou(box=(-1.0, 1.0), drift=lambda x, a: a + 5.0), _zero, 200, np.random.default_rng(1))
    assert pushed.min() >= -1.0 and pushed.max() <= 1.0 and np.mean(pushed == 1.0) > 0.5
    free = visited_states(_ou(), _zero, 2000, np.random.default_rng(2))
    held = visited_states(_ou(), lambda x: -3.0 * x, 2000, np.random.default_rng(2))
    # stationary variances σ²/(2θ) = 0.18 and σ²/(2(θ + 3)) = 0.045
    assert held.var() < 0.5 * free.var()


def test_an_initial_law_of_a_control_problem_must_be_callable():
    with pytest.raises(ProblemError, match="initial_law must be callable"):
        _ou(law=1.0)


def test_a_discounted_problem_with_an_initial_law_trains_on_its_rollouts(fresh_draws):
    """Collocation, anchor and probe points are rollout states (a law at x = 1.5 with a weak drift keeps them near
    1.5, where uniform box points would spread over [−6, 6]), and every Adam step of the fit draws from the pool of
    the policy being evaluated (the L-BFGS budget as Adam steps)."""
    from hjb.progress import Progress
    from hjb.settings import SolverSettings
    from hjb.solvers.discounted import DiscountedScheme

    problem = _ou(law=lambda n, rng: np.full((n, 1), 1.5), drift=lambda x, a: a - 0.01 * x)
    problem.diffusion = lambda x, a: torch.full_like(x, 0.05)[:, :, None]
    s = SolverSettings(width=8, depth=1, collocation=32, adam_steps_first=5, pde_lbfgs_steps=20, probe_points=64,
                       anchors=4, anchor_paths=8, anchor_max_paths=8, max_iterations=1, restarts=0,
                       anchored_adam_steps=0, lbfgs_steps=0)
    scheme = DiscountedScheme(problem, s, Progress(1, enabled=False))
    assert scheme.rollouts
    for points in (scheme.collocation, scheme.anchor_x, scheme.probe):
        assert np.all(np.abs(points - 1.5) < 0.6)
    record = scheme.evaluate(0, scheme.initial_policy(), [])
    drawn = fresh_draws
    assert len(drawn) == 5 + 20 and all(np.all(np.abs(batch - 1.5) < 0.6) for batch in drawn)
    assert np.isfinite(record["pde_loss"])
