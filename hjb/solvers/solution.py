"""A solved control problem: the critic V_θ, the final policy, the PI history, and their run directory."""
from __future__ import annotations

import numpy as np
import torch

from hjb.nn.value_network import ValueNetwork
from hjb.pdes.problem import ControlProblem
from hjb.pdes.residuals import hjb_residual
from hjb.settings import SolverSettings

RUN_MARKER = "hjb-run.json"


class Solution:
    """V_θ and the policy returned by policy iteration, with numpy accessors on points x (n, d)."""

    def __init__(self, problem: ControlProblem, critic: ValueNetwork, policy, history: list, settings: SolverSettings,
                 status: str = "converged"):
        self.problem, self.critic, self.policy = problem, critic, policy
        self.history, self.settings, self.status = history, settings, status

    @staticmethod
    def _tensor(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(-1, 1) if np.ndim(x) == 1 else x,
                               dtype=torch.float64)

    def value(self, x: np.ndarray) -> np.ndarray:
        """V_θ(x) (n,)."""
        return self.critic.value(self._tensor(x)).numpy()

    def action(self, x: np.ndarray) -> np.ndarray:
        """The final policy α(x) (n, m): greedy with respect to V_θ, or the actor."""
        return self.policy(self._tensor(x)).detach().numpy()

    def hjb_residual(self, x: np.ndarray) -> np.ndarray:
        """R_HJB(x) = ρV − (r + L^a V) at the final policy's action a = α(x) (n,)."""
        xt = self._tensor(x)
        V, dV, d2V = self.critic.derivatives(xt)
        with torch.no_grad():
            return hjb_residual(self.problem, xt, V, dV, d2V, self.policy(xt)).numpy()[:, 0]

    @property
    def iterations(self) -> int:
        """Number of PI iterations run."""
        return len(self.history)
