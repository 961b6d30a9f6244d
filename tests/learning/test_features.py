"""The exact solve's bases (hjb.learning.features): a solution written back into the networks is the function the
basis coefficients describe, and it survives a save and load."""
from __future__ import annotations

import numpy as np
import torch

from hjb.geometry import Box
from hjb.learning.features import (
    actor_features,
    has_quadratic,
    monomials,
    set_policy_mean,
    set_value,
    value_features,
)
from hjb.learning.gaussian_q import GaussianQ
from hjb.nn.value_network import ValueNetwork

BOX = Box([-1.0, -2.0, 0.0], [1.0, 2.0, 3.0])


def _x(n: int = 50) -> torch.Tensor:
    return torch.as_tensor(BOX.sample(n, "sobol", seed=3), dtype=torch.float64)


def test_monomials_are_the_products_and_the_coordinates():
    x = _x(5)
    got = monomials(x, True)
    products = [x[:, i] * x[:, j] for i in range(3) for j in range(i, 3)]
    assert torch.allclose(got, torch.cat([torch.stack(products, 1), x], 1))
    assert torch.equal(monomials(x, False), x)
    assert has_quadratic(10, 64) and not has_quadratic(11, 64)


def test_set_value_writes_the_features_combination_into_J_and_it_survives_a_reload():
    torch.manual_seed(0)
    J = ValueNetwork(BOX, 16, 2)
    J.set_output_scale(0.0, 3.0)
    features = value_features(J)
    x = _x()
    weights = torch.randn(features(x).shape[1], 1, dtype=torch.float64)
    bias = torch.tensor([0.7], dtype=torch.float64)
    set_value(J, weights, bias)
    expected = (features(x) @ weights)[:, 0] + 0.7
    assert torch.allclose(J(x)[:, 0], expected, atol=1e-10)
    twin = ValueNetwork(BOX, 16, 2)
    twin.load_state(J.state())
    assert torch.allclose(twin(x)[:, 0], expected, atol=1e-10)
    # a network saved before the quadratic term existed loads without one
    old = {k: v for k, v in J.state().items() if k not in ("v_linear", "v_quadratic")}
    twin.load_state(old)
    assert not twin.net.v_quadratic_set


def test_set_policy_mean_writes_the_features_combination_into_the_actor():
    torch.manual_seed(1)
    J = ValueNetwork(BOX, 16, 2)
    head = GaussianQ(3, np.array([-2.0, -1.0]), np.array([2.0, 1.0]), 0.0, 8, 2, J.net._input_transform, 1.0)
    features = actor_features(head)
    x = _x()
    weights = torch.randn(8 + 3, 2, dtype=torch.float64)
    bias = torch.tensor([0.1, -0.2], dtype=torch.float64)
    set_policy_mean(head, weights, bias)
    expected = features(x) @ weights + bias
    assert torch.allclose(head.mean(x), expected, atol=1e-10)
    other = GaussianQ(3, np.array([-2.0, -1.0]), np.array([2.0, 1.0]), 0.0, 8, 2, J.net._input_transform, 1.0)
    other.load_state(head.state())
    assert torch.allclose(other.mean(x), expected, atol=1e-10)
