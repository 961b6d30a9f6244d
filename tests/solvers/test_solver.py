"""Policy iteration end to end on small budgets: the actor path reaches an accuracy; greedy needs greedy_action.

The default-settings solves of the seed LQR and Merton are exercised by tests/test_examples.py."""
import numpy as np
import pytest

from hjb import solve
from hjb.errors import ProblemError
from hjb.pdes import seed_lqr
from hjb.settings import SolverSettings
from hjb.validation.riccati import lqr_solution

SMALL = SolverSettings(width=32, collocation=64, adam_steps_first=1000, adam_steps=200, pde_lbfgs_steps=100,
                       anchors=6, anchor_paths=32, actor_steps=500, max_iterations=4)


def test_actor_path_learns_the_seed_lqr_gain():
    """Without greedy_action the actor ascends Q: its gain is Riccati's K within 2 % (the start a ≡ 0 is 100 % off) and
    V is within 3e-2 (V of a ≡ 0 is 2.4 off); the suites check the actor at default budgets to 2e-3."""
    problem = seed_lqr()
    problem.greedy_action = None
    solution = solve(problem, SMALL, progress=False)
    assert solution.policy.kind == "actor"
    x = np.linspace(-1.0, 1.0, 101)[:, None]
    gain = -np.polyfit(x[:, 0], solution.action(x)[:, 0], 1)[0]
    exact = lqr_solution(problem)
    assert gain == pytest.approx(exact.K[0, 0], rel=2e-2)
    assert np.linalg.norm(solution.value(x) - exact.value(x)) / np.linalg.norm(exact.value(x)) <= 3e-2


def test_greedy_improvement_needs_a_greedy_action():
    problem = seed_lqr()
    problem.greedy_action = None
    with pytest.raises(ProblemError, match="greedy_action"):
        solve(problem, SolverSettings(improvement="greedy"), progress=False)


def test_actor_lbfgs_polish_reaches_the_greedy_action():
    """For a fixed critic the best action is the closed-form greedy one; Adam alone stops short of it, the L-BFGS
    polish on the same objective gets at least ten times closer (seed LQR, critic V = −x², a* = −R⁻¹B·V′)."""
    import torch

    from hjb.nn.value_network import ValueNetwork
    from hjb.solvers.improvement import actor_ascent
    from hjb.solvers.policies import ActorPolicy

    problem = seed_lqr()
    x = problem.domain.sample(128, "sobol", seed=0)
    xt = torch.as_tensor(x)
    best = problem.greedy_action(xt, -2.0 * xt, None).numpy()

    def error(lbfgs_steps):
        torch.manual_seed(0)
        critic = ValueNetwork(problem.domain, 8, 1)
        critic.derivatives = lambda y, hessian=True: (None, -2.0 * y, torch.zeros(len(y), 1, 1, dtype=y.dtype))
        actor = ActorPolicy(problem, 16, 2, critic)
        actor_ascent(problem, critic, actor, x, steps=200, learning_rate=1e-3, lbfgs_steps=lbfgs_steps)
        return np.linalg.norm(actor(xt).numpy() - best) / np.linalg.norm(best)

    adam_only, polished = error(0), error(200)
    assert polished < 1e-3 and polished < 0.1 * adam_only


def test_a_stalled_warm_fit_is_replaced_by_a_fresh_network():
    """A critic whose tanh units are saturated (first-layer weights ×30) cannot fit the evaluation PDE of the seed
    LQR's policy a = −2x on a small budget; the restart refits a fresh network and keeps it because its PDE loss is
    lower, and V then matches V^α = −P x² − P D²/ρ, P = ½(Q + K²R)/(ρ − 2(A − BK)), at least twice as closely and within
    1e-3 (measured: PDE loss 1.1e-3 → 8.2e-6, value error 1.5e-3 → 4.3e-4)."""
    import torch

    from hjb.nn.value_network import ValueNetwork
    from hjb.progress import Progress
    from hjb.solvers.anchored_evaluation import fit_pde, restart
    from hjb.solvers.evaluation import solve_level

    torch.manual_seed(0)
    problem = seed_lqr()
    K = 2.0

    def policy(x):
        return -K * x

    s = SolverSettings(width=16, depth=2, adam_steps=100, adam_steps_first=1500, pde_lbfgs_steps=300)
    x = problem.domain.sample(128, "sobol", seed=0)
    probe = np.linspace(-1.5, 1.5, 61)[:, None]
    P = 0.5 * (1.0 + K**2 * 0.1) / (0.1 - 2 * (-0.5 - K))  # r = −½(Qx² + Ra²)
    exact = -P * probe[:, 0] ** 2 - P * 0.09 / 0.1

    def error(critic):
        solve_level(problem, critic, policy, x)
        return np.linalg.norm(critic.value(torch.as_tensor(probe)).numpy() - exact) / np.linalg.norm(exact)

    critic = ValueNetwork(problem.domain, s.width, s.depth)
    critic.set_output_scale(float(exact.mean()), float(exact.std()))
    with torch.no_grad():
        critic.net.linears[0].weight.mul_(30.0)
    warm = fit_pde(problem, critic, policy, x, x[:2], s, s.adam_steps, None)
    assert warm.pde_loss > s.restart_tol**2
    saturated = error(critic)
    result, kept = restart(problem, critic, policy, x, x[:2], probe, s, None, warm, Progress(1, enabled=False), 1)
    assert kept and result.pde_loss <= 0.1 * warm.pde_loss
    assert error(critic) <= min(1e-3, saturated / 2)


def test_a_worse_fresh_fit_is_discarded_and_the_warm_weights_restored():
    """When the fresh network fits worse on the probe points (here: a warm critic trained 500 Adam steps against a
    fresh one given no budget at all) the warm weights come back unchanged."""
    import torch

    from hjb.nn.value_network import ValueNetwork
    from hjb.progress import Progress
    from hjb.solvers.anchored_evaluation import fit_pde, restart

    torch.manual_seed(0)
    problem = seed_lqr()

    def policy(y):
        return -2.0 * y

    critic = ValueNetwork(problem.domain, 8, 1)
    critic.set_output_scale(-0.5, 0.3)
    x = problem.domain.sample(64, "sobol", seed=0)
    warm = fit_pde(problem, critic, policy, x, x[:2], SolverSettings(pde_lbfgs_steps=0), 500, None)
    before = critic.state()
    s = SolverSettings(adam_steps_first=0, pde_lbfgs_steps=0)
    result, kept = restart(problem, critic, policy, x, x[:2], x, s, None, warm, Progress(1, enabled=False), 1)
    assert not kept and result is warm
    after = critic.state()
    assert all(torch.equal(before[k], after[k]) for k in before)
