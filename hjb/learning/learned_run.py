"""A learned run as the readers of run directories (export, plots, simulate) see a solved one: the environment stands
where a solved run's problem stands, J_θ and the policy's mean action where V and α stand; there is no model, so no
HJB residual."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hjb.errors import ProblemError
from hjb.learning.environment import Environment

if TYPE_CHECKING:  # hjb.io.rundir imports this module: keep the learner's modules out of every run's import
    from hjb.learning.learned import LearnedSolution


@dataclass(frozen=True)
class PolicyLabel:
    """What plots and summaries print for a learned policy: `kind`, e.g. "model-free q"."""

    kind: str


class LearnedRun:
    """solution (a LearnedSolution) learnt in env: problem = env (name, domain, names, discount, describe()),
    value(x) = J_θ (n,) and action(x) = the policy's mean action (n, m) at x (n, d); status, history, settings the
    solution's."""

    finite_horizon = False

    def __init__(self, solution: LearnedSolution, env: Environment):
        if solution.domain.dim != env.state_dim or len(solution.action_low) != env.action_dim:
            raise ProblemError(f"the learnt solution has d = {solution.domain.dim}, m = {len(solution.action_low)}; "
                               f"environment {env.name!r} has d = {env.state_dim}, m = {env.action_dim}")
        self.solution, self.problem = solution, env
        self.status, self.history, self.settings = solution.status, solution.history, solution.settings
        self.policy = PolicyLabel(f"model-free {solution.method}")

    def value(self, x: np.ndarray) -> np.ndarray:
        """J_θ (n,) at x (n, d)."""
        return self.solution.value(x)

    def action(self, x: np.ndarray) -> np.ndarray:
        """The policy's mean action (n, m) at x (n, d)."""
        return self.solution.policy(x)
