"""The seed's scalar LQR solved by policy iteration and checked against the Riccati closed form.

python examples/lqr_seed.py [--fast]   (--fast: two PI iterations only, for the test suite)
"""
import sys

import numpy as np

from hjb import solve
from hjb.pdes import seed_lqr
from hjb.validation.riccati import lqr_solution
from hjb.validation.suites import SETTINGS

FAST = SETTINGS["lqr1d"].replace(max_iterations=2, min_iterations=2)  # two PI steps from a ≡ 0


def main(fast: bool = False) -> dict:
    problem = seed_lqr()
    solution = solve(problem, FAST if fast else SETTINGS["lqr1d"])
    x = problem.domain.grid(201)
    exact = lqr_solution(problem)  # only for the comparison below; the solver never sees it
    value_err = np.linalg.norm(solution.value(x) - exact.value(x)) / np.linalg.norm(exact.value(x))
    policy_err = np.linalg.norm(solution.action(x) - exact.policy(x)) / np.linalg.norm(exact.policy(x))
    print(f"PI iterations {solution.iterations}: value rel L2 {value_err:.2e}, policy rel L2 {policy_err:.2e}")
    print(f"learned gain K ≈ {-np.polyfit(x[:, 0], solution.action(x)[:, 0], 1)[0]:.5f} (Riccati {exact.K[0, 0]:.5f})")
    return {"value_rel_l2": value_err, "policy_rel_l2": policy_err}


if __name__ == "__main__":
    main(fast="--fast" in sys.argv)
