"""Merton's consumption–investment problem at default settings: learned policy (π, k) against the closed form.

python examples/merton.py      (a few minutes on one core)
"""
import numpy as np

from hjb import Merton, solve
from hjb.validation.merton import merton_solution
from hjb.validation.metrics import rel_l2


def main() -> dict:
    problem = Merton(r_f=0.03, mu=0.08, sigma=0.20, gamma=2.0, discount=0.05)
    solution = solve(problem)  # SolverSettings() as shipped
    wealth = np.linspace(0.5, 5.0, 201)[:, None]
    exact = merton_solution(problem)  # only for the comparison below
    action = solution.action(wealth)
    pi_err = rel_l2(action[:, 0], np.full(len(wealth), exact.pi))
    k_err = rel_l2(action[:, 1], np.full(len(wealth), exact.k))
    value_err = rel_l2(solution.value(wealth), exact.value(wealth))
    pi, k = action.mean(axis=0)
    print(f"status {solution.status} after {solution.iterations} PI iterations")
    print(f"risky fraction π ≈ {pi:.4f} (closed form {exact.pi:.4f}), rel L2 {pi_err:.2e}")
    print(f"consumption rate k ≈ {k:.5f} (closed form {exact.k:.5f}), rel L2 {k_err:.2e}")
    print(f"value rel L2 on wealth [0.5, 5]: {value_err:.2e}")
    return {"pi_rel_l2": pi_err, "k_rel_l2": k_err, "value_rel_l2": value_err}


if __name__ == "__main__":
    main()
