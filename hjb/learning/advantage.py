"""The seed's critic–actor (§2.2) with the time step made explicit: Q(x, a) = V(x) + Δt·(A(x, a) − A(x, α(x))), A an
FNN of (x, a), α the actor (an FNN squashed into the action bounds), so that Q(x, α(x)) = V(x) = V̄ of the TD target
r·Δt + e^{−ρΔt}V̄(x'). Written so, the regression of Q on that target keeps its dependence on a as Δt → 0 (a plain
Q network's differs from V by O(Δt), below the target's noise) and V(x') − V(x) is taken on the transitions, so the
diffusion's effect on V stays in; the actor ascends A(x, α(x))."""
from __future__ import annotations

import numpy as np
import torch

from hjb.backend import dde

Tensor = torch.Tensor


class AdvantageActor:
    """A(x, a) − A(x, α(x)) (n,) and the actor α(x) (n, m) in [low, high]."""

    kind = "td"

    def __init__(self, state_dim: int, low: np.ndarray, high: np.ndarray, width: int, depth: int, input_transform):
        m = len(low)
        self.low, self.high = (torch.tensor(np.array(b, dtype=float)) for b in (low, high))
        self.middle, self.half = (self.low + self.high) / 2, (self.high - self.low) / 2
        self.advantage = dde.nn.FNN([state_dim + m] + [2 * width] * depth + [1], "tanh", "Glorot normal")
        self.actor = dde.nn.FNN([state_dim] + [width] * depth + [m], "tanh", "Glorot normal")
        self.actor.apply_feature_transform(input_transform)
        self.actor.apply_output_transform(lambda x, y: self.middle + self.half * torch.tanh(y))
        self._z = input_transform

    def parameters(self) -> list:
        """The critic's parameters (A); the actor has its own optimiser (actor_parameters)."""
        return list(self.advantage.parameters())

    def actor_parameters(self) -> list:
        return list(self.actor.parameters())

    def _a(self, x: Tensor, a: Tensor) -> Tensor:
        return self.advantage(torch.cat([self._z(x), (a - self.middle) / self.half], dim=-1))[:, 0]

    def rate(self, x: Tensor, a: Tensor) -> Tensor:
        """A(x, a) − A(x, α(x)) (n,), the actor held fixed: what the TD rate is regressed on."""
        with torch.no_grad():
            greedy = self.actor(x)
        return self._a(x, a) - self._a(x, greedy)

    def test_functions(self, x: Tensor, a: Tensor) -> Tensor:
        """∂A along its last layer at (x, a) (n, 2·width): the critic's directions."""
        from hjb.learning.learned import last_hidden

        return last_hidden(self.advantage, torch.cat([self._z(x), (a - self.middle) / self.half], dim=-1))

    def extra_loss(self, x: Tensor) -> Tensor:
        """−mean A(x, α(x)): the actor's ascent (gradients reach the actor only; see the learner)."""
        return -self._a(x, self.actor(x)).mean()

    def policy(self, x: Tensor) -> Tensor:
        """α(x) (n, m)."""
        return self.actor(x)

    def variance(self) -> np.ndarray:
        """A deterministic policy: zeros (m,)."""
        return np.zeros(len(self.low))

    def sample(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return self.actor(x)

    def state(self) -> dict:
        return {"advantage": self.advantage.state_dict(), "actor": self.actor.state_dict()}

    def load_state(self, state: dict) -> None:
        self.advantage.load_state_dict(state["advantage"])
        self.actor.load_state_dict(state["actor"])
