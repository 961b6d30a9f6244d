"""The seed's scalar LQR solved by policy iteration at default settings and checked against the Riccati closed form.

python examples/lqr_seed.py      (about a minute and a half on one core)
"""
import numpy as np

from hjb import solve
from hjb.pdes import seed_lqr
from hjb.validation.metrics import rel_l2
from hjb.validation.riccati import lqr_solution


def main() -> dict:
    problem = seed_lqr()
    solution = solve(problem)  # SolverSettings() as shipped
    x = problem.domain.grid(201)
    exact = lqr_solution(problem)  # only for the comparison below; the solver never sees it
    value_err = rel_l2(solution.value(x), exact.value(x))
    policy_err = rel_l2(solution.action(x), exact.policy(x))
    gain = -np.polyfit(x[:, 0], solution.action(x)[:, 0], 1)[0]
    print(f"status {solution.status} after {solution.iterations} PI iterations")
    print(f"value rel L2 {value_err:.2e}, policy rel L2 {policy_err:.2e}")
    print(f"learned gain K ≈ {gain:.5f} (Riccati {exact.K[0, 0]:.5f})")
    return {"value_rel_l2": value_err, "policy_rel_l2": policy_err, "gain": gain}


if __name__ == "__main__":
    main()
