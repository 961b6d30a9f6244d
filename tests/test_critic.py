"""Copies of the critic: a frozen copy (the greedy policy's V_k) does not follow the live critic; the float32 twin
for rollouts agrees with it to single precision."""
import numpy as np
import torch

from hjb.nn.critic import Critic
from hjb.pdes import seed_lqr
from hjb.solvers.policies import GreedyPolicy


def test_greedy_policy_ignores_a_later_rescale_and_level_shift_of_the_critic():
    problem = seed_lqr()
    torch.manual_seed(0)
    critic = Critic(problem.domain, 16, 2)
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
    from hjb.geometry import Box

    for box in (Box(0.2, 12.5, scale="log"), Box([-2.0, -1.0], [2.0, 3.0])):
        torch.manual_seed(1)
        critic = Critic(box, 32, 3)
        critic.set_output_scale(-3.0, 2.0)
        twin = critic.single_precision()
        x = torch.as_tensor(box.sample(256, "uniform", seed=2))
        for exact, single in zip(critic.derivatives(x), twin.derivatives(x), strict=True):
            assert single.dtype == torch.float64
            error = float((single - exact).abs().max() / exact.abs().max())
            assert 0 < error < 1e-5  # float32 rounding: not zero, not more
        assert twin.value(x).dtype == torch.float64
        assert critic.net.linears[0].weight.dtype == torch.float64  # the original stays float64
