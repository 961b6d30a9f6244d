"""The anchored phase weighs each Feynman–Kac anchor by its precision: weights ∝ 1/se² (mean 1), applied per point."""
import math

import numpy as np
import torch

from hjb.geometry import Box
from hjb.montecarlo.feynman_kac import MonteCarloEstimate
from hjb.nn.pinn_fit import train_pinn
from hjb.nn.value_network import ValueNetwork
from hjb.pdes.conditions import PointData
from hjb.pdes.residual_pde import ResidualPDE
from hjb.solvers.anchors import Anchors, anchor_weights


def test_weights_are_inverse_variances_with_mean_one_and_the_floor():
    """se (1, 2, 10⁻⁶) with the floor 10⁻³ × V's scale (1): weights ∝ (1, 1/4, 10⁶), mean 1."""
    critic = ValueNetwork(Box(-1.0, 1.0), 4, 1)
    critic.set_output_scale(0.0, 1.0)
    x = np.array([[-0.5], [0.0], [0.5]])
    anchors = Anchors(x=x, estimate=MonteCarloEstimate(np.zeros(3), np.array([1.0, 2.0, 1e-6])), horizon=1.0,
                      dt=0.1, paths=8)
    w = anchor_weights(critic, anchors, floor=1e-3)
    expected = np.array([1.0, 0.25, 1e6])
    np.testing.assert_allclose(w, expected / expected.mean(), rtol=1e-12)


def test_a_weighted_point_set_fit_is_the_weighted_mean():
    """Two targets at one point, 1 and 0 with weights 1.8 and 0.2 (weighted PointData, as the anchors are): least
    squares gives V = 0.9 there (unweighted: 0.5)."""
    torch.manual_seed(0)
    box = Box(-1.0, 1.0)
    point = np.array([[0.3], [0.3]])
    data = PointData(point, np.array([1.0, 0.0]), np.array([1.8, 0.2]))
    pde = ResidualPDE(name="zero", residual=lambda x, u, _: 0.0 * u, domain=box, conditions=[data])
    net = ValueNetwork(box, 8, 1)
    train_pinn(pde, net, np.array([[-0.5], [0.5]]), adam_steps=2000, lbfgs_steps=0, learning_rate=1e-2, iteration=0)
    assert abs(float(net.values(point[:1])[0]) - 0.9) < 1e-3


def _seed_lqr_under_zero_action():
    """(problem, critic with output scale 1, 3 anchor points, the initial policy a ≡ 0) for the seed LQR."""
    from hjb.pdes import seed_lqr
    from hjb.solvers.policies import InitialPolicy

    problem = seed_lqr()
    critic = ValueNetwork(problem.domain, 4, 1)
    critic.set_output_scale(0.0, 1.0)
    return problem, critic, problem.domain.spread_points(3, seed=1), InitialPolicy(problem)


def test_anchors_say_when_the_path_cap_stopped_them_short_of_the_target():
    """The seed LQR under a ≡ 0 needs more than 128 paths for a 10⁻⁶ × scale target: capped;
    with a loose target the first 8 paths suffice: not capped, and no more paths are drawn."""
    from hjb.settings import SolverSettings
    from hjb.solvers.anchors import estimate_anchors

    problem, critic, x, policy = _seed_lqr_under_zero_action()
    tight = SolverSettings(anchor_paths=8, anchor_max_paths=128, anchor_stderr=1e-6, anchor_horizon=1.0)
    loose = tight.replace(anchor_stderr=10.0)
    capped = estimate_anchors(problem, policy, critic, x, x, tight, 1, seed=0)
    assert capped.capped and capped.paths == 128
    free = estimate_anchors(problem, policy, critic, x, x, loose, 1, seed=0)
    assert not free.capped and free.paths == 8


def test_anchor_precision_follows_the_last_change_of_v_down_to_anchor_stderr():
    """max(anchor_stderr, ΔV/10): loose while V moves, anchor_stderr once it has settled, no target before a change;
    estimate_anchors draws no more paths than a loose target needs."""
    from hjb.settings import SolverSettings
    from hjb.solvers.anchors import LOOSE_FRACTION, anchor_precision, estimate_anchors

    s = SolverSettings()
    assert anchor_precision(0.2, s) == LOOSE_FRACTION * 0.2
    assert anchor_precision(1e-4, s) == s.anchor_stderr
    assert anchor_precision(math.inf, s) == math.inf
    problem, critic, x, policy = _seed_lqr_under_zero_action()
    tight = SolverSettings(anchor_paths=8, anchor_max_paths=128, anchor_stderr=1e-6, anchor_horizon=1.0)
    loose = estimate_anchors(problem, policy, critic, x, x, tight, 1, seed=0, precision=10.0)
    assert not loose.capped and loose.paths == 8


def test_joint_stderr_is_the_rms_of_the_anchors_se():
    """√n × the se of the mean of n independent anchors: rms(1, 1, 7) = 4.12, where the mean se (3) hides the noisy one."""
    from hjb.solvers.anchors import joint_stderr

    estimate = MonteCarloEstimate(np.zeros(3), np.array([1.0, 1.0, 7.0]))
    assert joint_stderr(estimate) == np.sqrt(17.0)


def test_anchor_paths_are_resized_until_the_target_is_met():
    """A target 4× below the 8-path standard error: the path count is re-sized from each batch's own se until
    the joint se is at most the target, well short of the cap."""
    from hjb.settings import SolverSettings
    from hjb.solvers.anchors import estimate_anchors, joint_stderr

    problem, critic, x, policy = _seed_lqr_under_zero_action()
    first = SolverSettings(anchor_paths=8, anchor_max_paths=8, anchor_stderr=1e-9, anchor_horizon=1.0)
    se8 = joint_stderr(estimate_anchors(problem, policy, critic, x, x, first, 1, seed=0).estimate)
    target = se8 / 4  # anchor_stderr × scale × √n
    s = first.replace(anchor_max_paths=100_000, anchor_stderr=target / np.sqrt(len(x)))
    anchors = estimate_anchors(problem, policy, critic, x, x, s, 1, seed=0)
    assert not anchors.capped and 64 < anchors.paths < 2000
    assert joint_stderr(anchors.estimate) <= target


def test_only_the_anchors_short_of_the_target_get_more_paths():
    """dX = −X dt + σ(X) dW with σ = 0.02 below 0 and 0.02 + 0.5x above, r = x: the anchor at 0.8 is far noisier
    than the one at −0.8. With a target between their 8-path se, only the noisy one is re-estimated (the quiet
    one keeps its 8-path value exactly) and ends within the target."""
    from hjb.geometry import Box
    from hjb.pdes.problem import ControlProblem
    from hjb.settings import SolverSettings
    from hjb.solvers.anchors import estimate_anchors
    from hjb.solvers.policies import InitialPolicy

    problem = ControlProblem(
        name="hetero", drift=lambda x, a: -x, diffusion=lambda x, a: (0.02 + 0.5 * x.clamp(min=0.0)).unsqueeze(-1),
        reward=lambda x, a: x, discount=1.0, domain=Box(-1.0, 1.0), action_dim=1,
        initial_policy=lambda x: torch.zeros_like(x))
    critic = ValueNetwork(problem.domain, 4, 1)
    critic.set_output_scale(0.0, 1.0)
    x, policy = np.array([[-0.8], [0.8]]), InitialPolicy(problem)
    first = SolverSettings(anchor_paths=8, anchor_max_paths=8, anchor_stderr=1e-9, anchor_horizon=1.0)
    few = estimate_anchors(problem, policy, critic, x, x, first, 1, seed=0).estimate
    assert few.stderr[1] > 10 * few.stderr[0]
    target = np.sqrt(few.stderr[0] * few.stderr[1])  # each anchor's se: anchor_stderr × √n × scale
    s = first.replace(anchor_max_paths=100_000, anchor_stderr=target / np.sqrt(2))
    anchors = estimate_anchors(problem, policy, critic, x, x, s, 1, seed=0)
    assert anchors.estimate.mean[0] == few.mean[0] and anchors.estimate.stderr[0] == few.stderr[0]
    assert anchors.estimate.stderr[1] <= target and anchors.paths > 8 and not anchors.capped


def test_last_anchors_are_held_once_v_changes_less_than_their_noise():
    """held: the last anchors hold V's free modes in the next PDE fit only when V changed by less than
    anchor_stderr·√n (relative) in the last iteration; none before the first anchors."""
    from hjb.settings import SolverSettings
    from hjb.solvers.anchored_evaluation import Carry, held

    s = SolverSettings()
    x = np.zeros((12, 1))
    anchors = Anchors(x=x, estimate=MonteCarloEstimate(np.zeros(12), np.ones(12)), horizon=1.0, dt=0.1, paths=8)
    limit = s.anchor_stderr * np.sqrt(12)
    assert held(Carry(), s) is None
    assert held(Carry(anchors=anchors, value_change=1.5 * limit), s) is None
    assert held(Carry(anchors=anchors, value_change=float("nan")), s) is None
    assert held(Carry(anchors=anchors, value_change=0.5 * limit), s) is anchors
