"""Merton's consumption–investment problem: learned constant policy (π, k) against the closed form.

python examples/merton.py [--fast]   (--fast: two PI iterations only, for the test suite)
"""
import sys

import numpy as np

from hjb import Merton, solve
from hjb.validation.merton import merton_solution
from hjb.validation.suites import SETTINGS

FAST = SETTINGS["merton"].replace(max_iterations=2)  # two PI steps from (π, k) = (0, ρ)


def main(fast: bool = False) -> dict:
    problem = Merton(r_f=0.03, mu=0.08, sigma=0.20, gamma=2.0, discount=0.05)
    solution = solve(problem, FAST if fast else SETTINGS["merton"])
    wealth = np.linspace(0.5, 5.0, 201)[:, None]
    pi, k = solution.action(wealth).mean(axis=0)
    exact = merton_solution(problem)  # only for the comparison below
    print(f"risky fraction π ≈ {pi:.4f} (closed form {exact.pi:.4f}); consumption rate k ≈ {k:.5f} ({exact.k:.5f})")
    value_err = np.linalg.norm(solution.value(wealth) - exact.value(wealth)) / np.linalg.norm(exact.value(wealth))
    print(f"value rel L2 on wealth [0.5, 5]: {value_err:.2e}")
    return {"pi": float(pi), "k": float(k), "value_rel_l2": float(value_err)}


if __name__ == "__main__":
    main(fast="--fast" in sys.argv)
