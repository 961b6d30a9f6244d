"""The learner's pieces against hand-computed numbers: k-step windows of chained transitions, the window TD rate
(one step: the one-step rate), q's normalisation ∫exp(q/γ)da = 1 on the action box (γ > 0) and max_a q = 0 (γ = 0),
the critic–actor's zero advantage at its own action."""
import math

import numpy as np
import pytest
import torch

from hjb.geometry import Box
from hjb.learning.advantage import AdvantageActor
from hjb.learning.gaussian_q import GaussianQ
from hjb.learning.learner import td_rate, window_rate, window_starts
from hjb.nn.value_network import ValueNetwork


def test_window_starts_follow_the_chains():
    """Rows 0-3 chain (x' = next x), row 4 starts afresh, rows 4-6 chain: 3-step windows start at 0, 1 and 4."""
    x = np.array([[0.0], [1.0], [2.0], [3.0], [10.0], [11.0], [12.0]])
    x_next = np.array([[1.0], [2.0], [3.0], [9.0], [11.0], [12.0], [13.0]])
    np.testing.assert_array_equal(window_starts(x, x_next, 3), [0, 1, 4])
    np.testing.assert_array_equal(window_starts(x, x_next, 1), np.arange(7))
    assert len(window_starts(x, x_next, 5)) == 0


def _pieces(temperature=0.0):
    torch.manual_seed(0)
    box = Box(-2.0, 2.0)
    J = ValueNetwork(box, 8, 2)
    head = GaussianQ(1, np.array([-3.0]), np.array([3.0]), temperature, 8, 2, J.net._input_transform, 0.5)
    return box, J, head


def test_a_one_step_window_is_the_one_step_rate_and_a_two_step_window_telescopes():
    box, J, head = _pieces()
    rng = np.random.default_rng(1)
    x = torch.as_tensor(rng.uniform(-1, 1, (5, 1)))
    x_next = torch.cat([x[1:], x[-1:] + 0.01])  # rows chain
    a, r, dt = torch.as_tensor(rng.uniform(-3, 3, (5, 1))), torch.as_tensor(rng.normal(size=5)), torch.full((5,), 0.1)
    data = (x, a, r, x_next, dt)
    one = window_rate(J, J, head, data, torch.arange(5)[:, None], 0.3)
    with torch.no_grad():
        torch.testing.assert_close(one, td_rate(J, J, head, *data, 0.3))
        two = window_rate(J, J, head, data, torch.tensor([[0, 1]]), 0.3)[0]
        q = head.rate(x[:2], a[:2])
        expected = (math.exp(-0.3 * 0.2) * J(x_next[1:2])[0, 0] - J(x[:1])[0, 0]
                    + 0.1 * (r[0] - q[0]) + math.exp(-0.03) * 0.1 * (r[1] - q[1])) / 0.2
    torch.testing.assert_close(two, expected)


@pytest.mark.parametrize("temperature", [0.05, 0.5])
def test_q_is_normalised_on_the_action_box(temperature):
    """∫_{−3}^{3} exp(q(x, a)/γ) da = 1 (trapezoid on 20001 points) at three states, μ inside and near the bound."""
    _, _, head = _pieces(temperature)
    a = torch.linspace(-3.0, 3.0, 20001, dtype=torch.float64)[:, None]
    for x0 in (-1.5, 0.0, 1.7):
        with torch.no_grad():
            q = head.q(torch.full((len(a), 1), x0, dtype=torch.float64), a)
        assert float(torch.trapezoid(torch.exp(q / temperature), a[:, 0])) == pytest.approx(1.0, abs=1e-6)


def test_greedy_q_peaks_at_zero_at_the_clipped_mean():
    _, _, head = _pieces(0.0)
    with torch.no_grad():
        head.net.linears[-1].bias.fill_(100.0)  # μ far above the bound: the max is at the bound
    a = torch.linspace(-3.0, 3.0, 6001, dtype=torch.float64)[:, None]
    with torch.no_grad():
        q = head.q(torch.full((len(a), 1), 0.4, dtype=torch.float64), a)
    assert float(q.max()) == pytest.approx(0.0, abs=1e-12) and float(a[q.argmax()]) == pytest.approx(3.0)


def test_the_critic_actor_advantage_vanishes_at_its_own_action():
    torch.manual_seed(0)
    J = ValueNetwork(Box([-1.0, -1.0], [1.0, 1.0]), 8, 1)
    head = AdvantageActor(2, np.array([-2.0]), np.array([2.0]), 8, 2, J.net._input_transform)
    x = torch.as_tensor(np.random.default_rng(0).uniform(-1, 1, (16, 2)))
    with torch.no_grad():
        own = head.rate(x, head.policy(x))
        other = head.rate(x, head.policy(x) + 0.5)
    assert float(own.abs().max()) < 1e-12 and float(other.abs().max()) > 1e-6
    assert float(head.policy(x).detach().abs().max()) <= 2.0


@pytest.mark.parametrize("window", [1, 3])
def test_the_refit_solves_the_orthogonality_conditions_of_the_last_layer(window):
    """refit_value makes Σ ξ e = 0 over every window for ξ = (J's last hidden layer, 1) (it was not before)."""
    from hjb.learning.learned import last_hidden
    from hjb.learning.learner import refit_value

    box, J, head = _pieces()
    rng = np.random.default_rng(2)
    n = 300
    x = torch.as_tensor(rng.uniform(-2, 2, (n, 1)))
    x_next = torch.cat([x[1:], x[-1:]]) + 0.01 * torch.as_tensor(rng.normal(size=(n, 1)))
    x_next[:-1] = x[1:]  # one chain
    data = (x, torch.as_tensor(rng.uniform(-3, 3, (n, 1))), torch.as_tensor(rng.normal(size=n)) - 3.0 - x[:, 0] ** 2,
            x_next, torch.full((n,), 0.01))
    starts = torch.as_tensor(window_starts(x.numpy(), x_next.numpy(), window))
    idx = starts[:, None] + torch.arange(window)

    def conditions():
        with torch.no_grad():
            e = window_rate(J, J, head, data, idx, 0.2)
            xi = torch.cat([last_hidden(J.net, x[starts]), torch.ones(len(starts), 1, dtype=x.dtype)], dim=1)
            return (xi * e[:, None]).sum(dim=0).abs().max()

    before = float(conditions())
    refit_value(J, head, data, starts, window, 0.2)
    assert before > 1.0 and float(conditions()) < 1e-8 * before
