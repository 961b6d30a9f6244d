"""A frozen copy of the critic (the greedy policy's V_k) must not follow later changes of the live critic."""
import numpy as np
import torch

from hjb.critic import Critic
from hjb.pdes import seed_lqr
from hjb.policies import GreedyPolicy


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
