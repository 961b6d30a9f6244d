"""What model-free learning returns: J_θ, the policy (its mean action and variance), the history and an honest status;
and the orthogonality test of the held-out TD rates behind that status."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from hjb.geometry.box import Box
from hjb.nn.value_network import ValueNetwork
from hjb.settings import QLearningSettings


class LearnedSolution:
    """J_θ (value), the policy's mean action (policy) and variance, learnt from `transitions` transitions."""

    def __init__(self, J: ValueNetwork, head, domain: Box, low: np.ndarray, high: np.ndarray, discount: float,
                 history: list[dict], settings: QLearningSettings, status: str, name: str, transitions: int):
        self.network, self.head, self.domain = J, head, domain
        self.action_low, self.action_high, self.discount = low, high, discount
        self.history, self.settings, self.status = history, settings, status
        self.name, self.transitions = name, transitions

    @property
    def method(self) -> str:
        return self.head.kind

    def value(self, x: np.ndarray) -> np.ndarray:
        """J_θ (n,) at x (n, d)."""
        return self.network.values(np.asarray(x, dtype=float).reshape(len(x), -1))

    def policy(self, x: np.ndarray) -> np.ndarray:
        """The policy's mean action (n, m) at x (n, d), inside the bounds."""
        with torch.no_grad():
            xt = torch.as_tensor(np.asarray(x, dtype=float).reshape(len(x), -1), dtype=torch.float64)
            return self.head.policy(xt).numpy()

    def policy_variance(self) -> np.ndarray:
        """The policy's variance per action component (m,) (γ/λ before truncation; 0 for a greedy policy)."""
        return self.head.variance()

    def q(self, x: np.ndarray, a: np.ndarray) -> np.ndarray:
        """The learnt rate q(x, a) (n,) (method td: A(x, a) − A(x, α(x)))."""
        with torch.no_grad():
            return self.head.rate(torch.as_tensor(x, dtype=torch.float64),
                                  torch.as_tensor(a, dtype=torch.float64)).numpy()

    def state(self) -> dict:
        """Weights of J and of the policy's networks."""
        return {"value": self.network.state(), "head": self.head.state()}


def last_hidden(net, x: torch.Tensor) -> torch.Tensor:
    """The input (n, width) of the last linear layer of a DeepXDE FNN at x: its learnt features."""
    seen = []
    hook = net.linears[-1].register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    try:
        net(x)
    finally:
        hook.remove()
    return seen[0]


def test_functions(J: ValueNetwork, head, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """ξ (n, k): J's last-layer features (∂J with respect to its last layer) and the head's own (test_functions):
    the directions the learner moves along, where the orthogonality E[ξ e] = 0 is what it solved."""
    return torch.cat([last_hidden(J.net, x), head.test_functions(x, a)], dim=1)


@torch.no_grad()
def orthogonality_z(J: ValueNetwork, J_bar, head, batch: tuple, discount: float, td_rate: Callable) -> float:
    """max_k |mean(ξ_k e)| / se over held-out transitions: how far the TD rates e are from orthogonal to the test
    functions ξ (test_functions), in standard errors."""
    x, a, r, x_next, dt = batch
    e = td_rate(J, J_bar, head, x, a, r, x_next, dt, discount)
    products = test_functions(J, head, x, a) * e[:, None]
    se = products.std(dim=0) / np.sqrt(len(e))
    return float((products.mean(dim=0).abs() / se.clamp(min=1e-300)).max())
