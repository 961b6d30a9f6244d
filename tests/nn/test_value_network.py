"""The one value network: copies of a critic (a frozen copy, the greedy policy's V_k, does not follow the live
critic; the float32 twin for rollouts agrees with it to single precision), the space-time form with its hard-wired
initial or terminal condition, and the combinations it refuses."""
import numpy as np
import pytest
import torch

from hjb.errors import ProblemError
from hjb.geometry import Box
from hjb.geometry.spacetime import SpaceTime
from hjb.nn.value_network import FixedTime, ValueNetwork
from hjb.pdes import seed_lqr
from hjb.solvers.policies import GreedyPolicy


def test_greedy_policy_ignores_a_later_rescale_and_level_shift_of_the_critic():
    problem = seed_lqr()
    torch.manual_seed(0)
    critic = ValueNetwork(problem.domain, 16, 2)
    critic.set_output_scale(-1.0, 1.0)
    x = torch.as_tensor(problem.domain.sample(16, "sobol", seed=0))
    policy = GreedyPolicy(problem, critic)
    action, frozen_value = policy(x).clone(), policy.critic.value(x).clone()
    live_value = critic.value(x).clone()
    critic.rescale(3.0, 2.0)  # V unchanged, its parametrisation not
    np.testing.assert_allclose(critic.value(x), live_value, rtol=1e-12)
    with torch.no_grad():
        critic.net.v_offset += 1.0
        critic.net.v_scale.mul_(5.0)
    np.testing.assert_allclose(policy(x), action, rtol=1e-12)
    np.testing.assert_allclose(policy.critic.value(x), frozen_value, rtol=1e-12)


def test_single_precision_twin_agrees_to_float32_and_returns_float64():
    for box in (Box(0.2, 12.5, scale="log"), Box([-2.0, -1.0], [2.0, 3.0])):
        torch.manual_seed(1)
        critic = ValueNetwork(box, 32, 3)
        critic.set_output_scale(-3.0, 2.0)
        twin = critic.single_precision()
        x = torch.as_tensor(box.sample(256, "uniform", seed=2))
        for exact, single in zip(critic.derivatives(x), twin.derivatives(x), strict=True):
            assert single.dtype == torch.float64
            error = float((single - exact).abs().max() / exact.abs().max())
            assert 0 < error < 1e-5  # float32 rounding: not zero, not more
        assert twin.value(x).dtype == torch.float64
        assert critic.net.linears[0].weight.dtype == torch.float64  # the original stays float64


@pytest.mark.parametrize("at", ["start", "end"])
def test_space_time_network_holds_its_fixed_time_condition_exactly(at):
    domain = SpaceTime(Box([-1.0, 0.0], [1.0, 2.0]), 1.5)
    torch.manual_seed(3)
    net = ValueNetwork(domain, 16, 2, FixedTime(lambda x: (x**2).sum(1, keepdim=True), at=at, rate=2.0))
    x = domain.box.sample(64, "uniform", seed=4)
    t_fixed = domain.t0 if at == "start" else domain.t1
    at_fixed = net.values(domain.at_time(x, t_fixed))
    np.testing.assert_array_equal(at_fixed, (x**2).sum(1))  # exactly h(x): τ = 0 there
    inside = net.values(domain.at_time(x, 0.75))
    assert np.abs(inside - (x**2).sum(1)).min() > 0  # elsewhere N_θ contributes
    twin = net.single_precision()
    np.testing.assert_allclose(twin.values(domain.at_time(x, 0.75)), inside, rtol=1e-5)
    assert net.rate == 2.0


def test_value_network_refuses_what_it_cannot_be():
    box, cylinder = Box(-1.0, 1.0), SpaceTime(Box(-1.0, 1.0), 1.0)
    h = FixedTime(lambda x: x, at="end")
    with pytest.raises(ProblemError, match="at must be 'start' or 'end'; got 'middle'"):
        FixedTime(lambda x: x, at="middle")
    with pytest.raises(ProblemError, match="rate must be > 0; got 0"):
        FixedTime(lambda x: x, at="end", rate=0)
    with pytest.raises(ProblemError, match="needs a FixedTime or PeriodicTime condition"):
        ValueNetwork(cylinder, 4, 1)
    with pytest.raises(ProblemError, match="needs a SpaceTime domain"):
        ValueNetwork(box, 4, 1, h)
    with pytest.raises(ProblemError, match="linear-scale Box"):
        ValueNetwork(SpaceTime(Box(0.5, 2.0, scale="log"), 1.0), 4, 1, h)
    with pytest.raises(ProblemError, match="only a value network on a Box \\(or periodic in t\\) has a trained output offset"):
        _ = ValueNetwork(cylinder, 4, 1, h).scale
    with pytest.raises(ProblemError, match="only a value network on a space-time cylinder has a FixedTime rate"):
        _ = ValueNetwork(box, 4, 1).rate
