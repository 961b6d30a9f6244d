"""A solved control problem: the value network V_θ, the final policy, the PI history, settings and status, with
numpy accessors. Points are x (n, d) for a ControlProblem and space-time points (n, d + 1) for a
FiniteHorizonProblem (a DiffusionModel among them)."""
from __future__ import annotations

import numpy as np
import torch

from hjb.nn.value_network import ValueNetwork
from hjb.pdes.finite_horizon import FiniteHorizonProblem, finite_horizon_residual_at
from hjb.pdes.generator import space_time_derivatives
from hjb.pdes.residuals import residual_at
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

    def space_time_derivatives(self, xt: np.ndarray, hessian: bool = True
                               ) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
        """Finite horizon: detached V (n, 1), ∂_t V (n, 1), ∇V (n, d), ∇²V (n, d, d) (None without hessian) at xt
        (n, d + 1)."""
        with torch.enable_grad():
            xg = torch.as_tensor(xt, dtype=torch.float64).clone().requires_grad_(True)
            V = self.network(xg)
            dVdt, dV, d2V = space_time_derivatives(V, xg, create_graph=False, hessian=hessian)
        return V.detach(), dVdt.detach(), dV.detach(), None if d2V is None else d2V.detach()

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """∇_x V (n, d) at x."""
        if self.finite_horizon:
            return self.space_time_derivatives(x, hessian=False)[2].numpy()
        return self.network.gradient(self._tensor(x)).numpy()

    def hjb_residual(self, x: np.ndarray) -> np.ndarray:
        """The HJB residual (n,): ρV − (r + L^a V) at the final policy's action a = α(x) for a discounted problem;
        ∂_t V + max_a {r + L^a V} for a finite-horizon one."""
        if self.finite_horizon:
            return finite_horizon_residual_at(self.problem, self.network, torch.as_tensor(x, dtype=torch.float64)
                                              )[:, 0].numpy()
        xt = self._tensor(x)
        return residual_at(self.problem, self.network, xt, self.policy(xt)).numpy()[:, 0]

    @property
    def iterations(self) -> int:
        """Number of PI iterations run."""
        return len(self.history)
