"""The double integrator of issue 14 (hjb.pdes.double_integrator): its coefficients against the issue's statement
and its unconstrained gain against the issue's K*."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hjb.errors import ProblemError
from hjb.pdes.double_integrator import double_integrator
from hjb.validation.riccati import lqr_solution


def test_unconstrained_gain():
    K = lqr_solution(double_integrator(bound=None)).K
    assert K.shape == (1, 2)
    np.testing.assert_allclose(K, [[2.96663, 3.94196]], atol=1e-5)


def test_dynamics_and_reward_are_the_issues():
    """dx = v dt, dv = a dt + 0.05 dW, r = −(x² + v² + 0.1a²), ρ = 0.1: the ½-convention Q = 2I, R = 0.2."""
    problem = double_integrator()
    rng = np.random.default_rng(0)
    s = torch.as_tensor(rng.normal(size=(7, 2)), dtype=torch.float64)
    a = torch.as_tensor(rng.normal(size=(7, 1)), dtype=torch.float64)
    x, v = s[:, :1], s[:, 1:]
    torch.testing.assert_close(problem.reward(s, a), -(x**2 + v**2 + 0.1 * a**2), rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(problem.drift(s, a), torch.cat([v, a], dim=1), rtol=1e-14, atol=1e-14)
    sigma = problem.diffusion(s, a)
    assert sigma.shape == (7, 2, 1)
    torch.testing.assert_close(sigma, torch.tensor([[0.0], [0.05]], dtype=torch.float64).expand(7, 2, 1))
    assert problem.discount == 0.1
    assert problem.state_names == ("x", "v") and problem.action_names == ("a",)


def test_action_bound():
    low, high = double_integrator().action_bounds
    np.testing.assert_array_equal(low, [-2.0])
    np.testing.assert_array_equal(high, [2.0])
    assert double_integrator(bound=None).action_bounds is None
    np.testing.assert_array_equal(double_integrator(bound=0.5).action_bounds[1], [0.5])
    with pytest.raises(ProblemError, match="bound"):
        double_integrator(bound=-1.0)
