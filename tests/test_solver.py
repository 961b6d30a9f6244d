"""End-to-end policy iteration on the quick-suite problems, checked against closed forms (slow: ~3 min)."""
import numpy as np
import pytest

from hjb import Merton, solve
from hjb.errors import ProblemError
from hjb.geometry import Box
from hjb.pdes import seed_lqr
from hjb.validation.merton import merton_solution
from hjb.validation.metrics import columnwise_rel_l2, rel_l2
from hjb.validation.riccati import lqr_solution
from hjb.validation.suites import SETTINGS


def test_seed_lqr_meets_quick_tolerances():
    problem = seed_lqr()
    solution = solve(problem, SETTINGS["lqr1d"], progress=False)
    x = problem.domain.grid(201)
    exact = lqr_solution(problem)
    assert rel_l2(solution.value(x), exact.value(x)) <= 2e-3
    assert columnwise_rel_l2(solution.action(x), exact.policy(x)) <= 5e-3
    # The Riccati solution is a fixed point: the learned greedy gain is K within 0.5 %.
    K = -np.polyfit(x[:, 0], solution.action(x)[:, 0], 1)[0]
    assert K == pytest.approx(exact.K[0, 0], rel=5e-3)
    assert solution.history[-1]["hjb_residual_rms"] < solution.history[0]["hjb_residual_rms"] * 1e-2


def test_merton_meets_quick_tolerances():
    problem = Merton()
    solution = solve(problem, SETTINGS["merton"], progress=False)
    x = Box(0.5, 5.0).grid(201)
    exact = merton_solution(problem)
    assert rel_l2(solution.value(x), exact.value(x)) <= 1e-2
    assert columnwise_rel_l2(solution.action(x), exact.policy(x)) <= 1e-2


def test_greedy_improvement_needs_a_greedy_action():
    problem = seed_lqr()
    problem.greedy_action = None
    with pytest.raises(ProblemError, match="greedy_action"):
        solve(problem, SETTINGS["lqr1d"].replace(improvement="greedy"), progress=False)
