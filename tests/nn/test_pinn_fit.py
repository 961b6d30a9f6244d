"""The L-BFGS budget of a PINN fit is the one the settings give (DeepXDE's own cap is 1000 per step)."""
import numpy as np
import pytest

from hjb.nn.value_network import ValueNetwork
from hjb.pdes import seed_lqr
from hjb.solvers.evaluation import evaluate_policy
from hjb.solvers.policies import InitialPolicy


@pytest.mark.parametrize("budget", [7, 40])
def test_lbfgs_runs_at_most_its_budget(budget):
    problem = seed_lqr()
    critic = ValueNetwork(problem.domain, 16, 2)
    critic.set_output_scale(-1.0, 1.0)
    x = problem.domain.sample(64, "sobol", seed=0)
    result = evaluate_policy(problem, critic, InitialPolicy(problem), x, x[:2], np.zeros(2), adam_steps=0,
                             learning_rate=1e-3, lbfgs_steps=budget, anchor_weight=0.0)
    # Far from converged after so few iterations, L-BFGS uses its whole budget and not DeepXDE's 1000. DeepXDE calls
    # torch's L-BFGS until the iterations reach the budget, and one call may stop early on its evaluation cap and
    # the next overshoot: fewer than twice the budget in all.
    assert result.finite and budget - 1 <= result.steps < 2 * budget


def test_lbfgs_stops_at_the_fit_tolerance():
    """With fit_tol, L-BFGS stops once the PDE residual rms meets it, well inside its budget; from the same start
    without the tolerance it runs on to a far smaller loss."""
    import torch

    problem = seed_lqr()
    x = problem.domain.sample(64, "sobol", seed=0)

    def fit(**kwargs):
        torch.manual_seed(0)
        critic = ValueNetwork(problem.domain, 16, 2)
        critic.set_output_scale(-1.0, 1.0)
        return evaluate_policy(problem, critic, InitialPolicy(problem), x, x[:2], np.zeros(2), adam_steps=0,
                               learning_rate=1e-3, anchor_weight=0.0, **kwargs)

    early = fit(lbfgs_steps=2000, fit_tol=1e-2)
    assert early.finite and early.pde_loss <= 1e-4 and early.steps < 1000
    full = fit(lbfgs_steps=early.steps + 300)
    assert full.pde_loss < 1e-2 * early.pde_loss


def test_solve_level_zeroes_the_mean_residual():
    """ρV enters the evaluation residual linearly: the closed-form shift −mean(R)/ρ leaves mean(R) = 0."""
    import torch

    from hjb.pdes.residuals import evaluation_residual
    from hjb.solvers.evaluation import solve_level

    problem = seed_lqr()
    critic = ValueNetwork(problem.domain, 16, 2)
    critic.set_output_scale(-1.0, 1.0)
    x = problem.domain.sample(64, "sobol", seed=0)
    policy = InitialPolicy(problem)

    def mean_residual():
        xt = torch.as_tensor(x)
        V, dV, d2V = critic.derivatives(xt)
        return float(evaluation_residual(problem, xt, V, dV, d2V, policy(xt)).mean())

    before = mean_residual()
    shift = solve_level(problem, critic, policy, x)
    assert abs(before) > 0.1 and shift == pytest.approx(-before / problem.discount, rel=1e-12)
    assert abs(mean_residual()) < 1e-10 * abs(before)


def test_a_fresh_points_fit_draws_every_step_and_skips_lbfgs():
    """fit(fresh_points=draw): draw is called before each Adam step and its points are the ones trained on; no
    L-BFGS follows, its budget is spent as Adam steps."""
    import torch

    from hjb.nn.pinn_fit import fit, pde_model
    from hjb.solvers.evaluation import evaluation_pde

    problem = seed_lqr()
    torch.manual_seed(0)
    critic = ValueNetwork(problem.domain, 16, 2)
    critic.set_output_scale(-1.0, 1.0)
    rng = np.random.default_rng(0)
    drawn = []

    def draw(step):
        drawn.append(problem.domain.sample(32, "uniform", seed=int(rng.integers(2**31))))
        return drawn[-1]

    model = pde_model(evaluation_pde(problem, InitialPolicy(problem), critic), critic,
                      problem.domain.sample(32, "sobol", seed=0))
    _, steps = fit(model, critic, adam_steps=60, lbfgs_steps=40, learning_rate=1e-3, iteration=0, chunk=20,
                   fresh_points=draw)
    assert steps == 100 and len(drawn) == 100
    np.testing.assert_array_equal(model.data.anchors, drawn[-1])
