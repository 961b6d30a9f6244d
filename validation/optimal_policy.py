"""The known optimal policy of a recognised problem class, for rollouts beside a learned one: a StochasticLQR without
action bounds (Riccati: a* = −Kx) and Merton (π*, k* constant, clipped into its bounds while that stays exact)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hjb.errors import ProblemError
from hjb.pdes.lqr import StochasticLQR
from hjb.pdes.merton import Merton
from hjb.validation.merton import merton_solution
from hjb.validation.riccati import lqr_solution


@dataclass(frozen=True)
class OptimalPolicy:
    """a*(x) (n, m) for x (n, d), time-free, and where it comes from (`source`, one line)."""

    policy: Callable[[np.ndarray], np.ndarray]
    source: str

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.policy(x)


def optimal_policy(problem) -> OptimalPolicy | None:
    """The closed-form optimal policy of `problem`, or None where hjb.validation has none for its class (any other
    problem, a StochasticLQR with action bounds, a Merton whose k* leaves its bounds)."""
    if isinstance(problem, StochasticLQR) and problem.action_bounds is None:
        return OptimalPolicy(lqr_solution(problem).policy, "Riccati (hjb.validation.riccati): a* = −Kx")
    if isinstance(problem, Merton):
        try:
            solution = merton_solution(problem)
        except ProblemError:
            return None
        return OptimalPolicy(solution.policy, f"Merton (hjb.validation.merton): π* = {solution.pi:.6g}, "
                                              f"k* = {solution.k:.6g}")
    return None
