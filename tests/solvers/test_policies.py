"""Greedy policies from a frozen critic (hjb.solvers.policies)."""
import numpy as np
import torch

from hjb.geometry import Box
from hjb.nn.value_network import ValueNetwork
from hjb.pdes.lqr import coupled_lqr
from hjb.solvers.policies import GreedyPolicy, zero_hessian


def test_zero_hessian_is_zero_and_holds_one_number_whatever_n_and_d():
    """The ∇²V handed to a greedy action that ignores it: (n, d, d) zeros, stored as a single float."""
    x = torch.zeros(768, 200, dtype=torch.float64)
    H = zero_hessian(x)
    assert H.shape == (768, 200, 200) and H.dtype == torch.float64
    assert not H.any() and H.untyped_storage().nbytes() == 8


def test_greedy_policy_of_an_lqr_is_r_inverse_b_transpose_grad_v():
    """α(x) = R⁻¹Bᵀ∇V(x) (the LQR's argmax, which ignores ∇²V) at a random critic in 12-D, with ∇V by finite
    differences of V (central, h = 1e-5)."""
    torch.manual_seed(0)
    problem = coupled_lqr(12)
    critic = ValueNetwork(problem.domain, 16, 2)
    x = torch.as_tensor(Box([-1.0] * 12, [1.0] * 12).sample(5, "uniform", seed=3))
    h, eye = 1e-5, torch.eye(12, dtype=torch.float64)
    grad = torch.stack([(critic.value(x + h * eye[i]) - critic.value(x - h * eye[i])) / (2 * h) for i in range(12)], 1)
    expected = grad.numpy() @ np.linalg.solve(problem.R, problem.B.T).T
    np.testing.assert_allclose(GreedyPolicy(problem, critic)(x).numpy(), expected, rtol=1e-7, atol=1e-9)
