"""A solved control problem: the value network V_θ, the final policy, the PI history, settings and status, with
numpy accessors. Points are x (n, d) for a ControlProblem and space-time points (n, d + 1) for a
FiniteHorizonProblem (a DiffusionModel among them)."""
from __future__ import annotations

import numpy as np
import torch

from hjb.nn.value_network import ValueNetwork
from hjb.pdes.finite_horizon import FiniteHorizonProblem, finite_horizon_residual
from hjb.pdes.generator import space_time_derivatives
from hjb.pdes.residuals import hjb_residual
from hjb.settings import FiniteHorizonSettings, SolverSettings

RUN_MARKER = "hjb-run.json"
Tensor = torch.Tensor


class Solution:
    """V_θ and the policy returned by policy iteration (either kind of problem)."""

    def __init__(self, problem, network: ValueNetwork, policy, history: list, settings: SolverSettings | FiniteHorizonSettings,
                 status: str = "converged"):
        self.problem, self.network, self.policy = problem, network, policy
        self.history, self.settings, self.status = history, settings, status

    @property
    def finite_horizon(self) -> bool:
        """True for a FiniteHorizonProblem (points carry their time as the last column)."""
        return isinstance(self.problem, FiniteHorizonProblem)

    @staticmethod
    def _tensor(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(-1, 1) if np.ndim(x) == 1 else x,
                               dtype=torch.float64)

    def value(self, x: np.ndarray) -> np.ndarray:
        """V_θ (n,) at x."""
        return self.network.value(self._tensor(x)).numpy()

    def action(self, x: np.ndarray) -> np.ndarray:
        """The final policy α (n, m) at x: greedy with respect to V_θ, or the actor."""
        return self.policy(self._tensor(x)).detach().numpy()

    def space_time_derivatives(self, xt: np.ndarray) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Finite horizon: detached V (n, 1), ∂_t V (n, 1), ∇V (n, d), ∇²V (n, d, d) at xt (n, d + 1)."""
        with torch.enable_grad():
            xg = torch.as_tensor(xt, dtype=torch.float64).clone().requires_grad_(True)
            V = self.network(xg)
            dVdt, dV, d2V = space_time_derivatives(V, xg, create_graph=False)
        return V.detach(), dVdt.detach(), dV.detach(), d2V.detach()

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """∇_x V (n, d) at x."""
        if self.finite_horizon:
            return self.space_time_derivatives(x)[2].numpy()
        return self.network.gradient(self._tensor(x)).numpy()

    def hjb_residual(self, x: np.ndarray) -> np.ndarray:
        """The HJB residual (n,): ρV − (r + L^a V) at the final policy's action a = α(x) for a discounted problem;
        ∂_t V + max_a {r + L^a V} for a finite-horizon one."""
        if self.finite_horizon:
            d = self.problem.state_dim
            _, dVdt, dV, d2V = self.space_time_derivatives(x)
            xt = torch.as_tensor(x, dtype=torch.float64)
            with torch.no_grad():
                return finite_horizon_residual(self.problem, xt[:, :d], xt[:, d:], dVdt, dV, d2V)[:, 0].numpy()
        xt = self._tensor(x)
        V, dV, d2V = self.network.derivatives(xt)
        with torch.no_grad():
            return hjb_residual(self.problem, xt, V, dV, d2V, self.policy(xt)).numpy()[:, 0]

    @property
    def iterations(self) -> int:
        """Number of PI iterations run."""
        return len(self.history)
