"""Every example runs (fast mode) and its numbers are sane."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hjb.pdefile import load_problem
from hjb.validation.riccati import discounted_riccati

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def run(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, env=ENV)


def kleinman_gains(A, B, Q, R, rho, K0, steps):
    """Exact policy iteration for the discounted LQR: P_K from a Lyapunov equation, K ← R⁻¹BᵀP_K."""
    from scipy.linalg import solve_continuous_lyapunov

    gains, K = [], np.asarray(K0, dtype=float)
    for _ in range(steps):
        F = A - B @ K - 0.5 * rho * np.eye(len(A))
        P = solve_continuous_lyapunov(F.T, -(Q + K.T @ R @ K))
        K = np.linalg.solve(R, B.T @ P)
        gains.append(K)
    return gains


def test_lqr_seed_example_follows_exact_policy_iteration():
    result = run(str(EXAMPLES / "lqr_seed.py"), "--fast")
    assert result.returncode == 0, result.stderr
    learned = float(re.search(r"learned gain K ≈ ([0-9.]+)", result.stdout).group(1))
    # Two PI steps from a ≡ 0: the greedy gain is Kleinman's second iterate (4.804), not yet Riccati's 2.660.
    K2 = kleinman_gains(np.array([[-0.5]]), np.array([[1.0]]), np.eye(1), np.array([[0.1]]), 0.1, [[0.0]], 2)[-1]
    assert learned == pytest.approx(K2[0, 0], rel=1e-2)


def test_merton_example_runs_fast():
    result = run(str(EXAMPLES / "merton.py"), "--fast")
    assert result.returncode == 0, result.stderr
    pi = float(re.search(r"risky fraction π ≈ ([0-9.]+)", result.stdout).group(1))
    k = float(re.search(r"consumption rate k ≈ ([0-9.]+)", result.stdout).group(1))
    # After two PI steps from (0, ρ) the policy is already within a few percent of (0.625, 0.0478125).
    assert pi == pytest.approx(0.625, rel=0.05) and k == pytest.approx(0.0478125, rel=0.05)


def test_declare_your_own_pde_file_loads_and_matches_its_matrices():
    problem, settings = load_problem(EXAMPLES / "my_lqr2d.py")
    assert problem.state_dim == 2 and problem.action_dim == 2 and settings is not None
    # The plain functions reproduce the LQR generator pieces: check against the matrices directly.
    import torch

    x = torch.tensor([[0.5, -1.0], [1.5, 0.2]], dtype=torch.float64)
    a = torch.tensor([[0.1, 0.3], [-0.2, 0.4]], dtype=torch.float64)
    A, B = np.array([[-0.4, 0.3], [0.2, -0.6]]), np.array([[1.0, 0.0], [0.5, 1.0]])
    assert np.allclose(problem.drift(x, a).numpy(), x.numpy() @ A.T + a.numpy() @ B.T)
    # Its closed-form greedy action at V = −½xᵀPx is the Riccati feedback −Kx.
    ric = discounted_riccati(A, B, [[1.0, 0.2], [0.2, 0.5]], [[0.2, 0.0], [0.0, 0.3]],
                             [[0.3, 0.0], [0.1, 0.2]], 0.1)
    dV = -(x @ torch.as_tensor(ric.P))
    assert np.allclose(problem.greedy_action(x, dV, None).numpy(), ric.policy(x.numpy()))


def test_diffusion_mixture_pde_file_loads_and_solves_fast():
    """examples/diffusion_mixture1d.py is a PDE file for `hjb solve`: load it, solve with a reduced budget, and check
    W(x, t) = log p_{T−t}(x) against the exactly noised mixture (loosely: a short solve) and exactly at t = T."""
    import torch

    from hjb.finite_horizon_solver import solve_finite_horizon
    from hjb.pdes.diffusion_model import DiffusionModel

    problem, settings = load_problem(EXAMPLES / "diffusion_mixture1d.py")
    assert isinstance(problem, DiffusionModel) and problem.horizon == 2.0 and settings is not None
    fast = settings.replace(collocation=128, adam_steps_first=200, pde_lbfgs_steps=50, max_iterations=1)
    solution = solve_finite_horizon(problem, fast, progress=False)
    x = np.linspace(-3.0, 3.0, 61).reshape(-1, 1)
    mixture = [(0.3, -1.5, 0.3), (0.7, 1.0, 0.5)]
    for t in (0.0, 1.0, 2.0):
        alpha = float(np.exp(-0.5 * (0.5 * (2.0 - t) + 0.5 * 3.5 * (2.0 - t) ** 2 / 2.0)))  # α_s, s = T − t
        p = sum(w * np.exp(-0.5 * (x[:, 0] - alpha * m) ** 2 / v) / np.sqrt(2 * np.pi * v)
                for w, m, v in ((w, m, alpha**2 * sd**2 + 1 - alpha**2) for w, m, sd in mixture))
        W = solution.value(problem.domain.at_time(x, t))
        if t == 2.0:  # W(·, T) = log p_data is built in
            np.testing.assert_array_equal(W, problem.terminal(torch.as_tensor(x))[:, 0].numpy())
            np.testing.assert_allclose(W, np.log(p), rtol=1e-12)
        else:
            assert np.linalg.norm(W - np.log(p)) / np.linalg.norm(np.log(p)) < 0.25


def test_readme_shows_the_diffusion_pde_file_as_it_is():
    """Every line of the README's diffusion snippet is a line of examples/diffusion_mixture1d.py."""
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    snippet = readme.split("examples/diffusion_mixture1d.py` (a 1-D", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    lines = {line.strip() for line in (EXAMPLES / "diffusion_mixture1d.py").read_text(encoding="utf-8").splitlines()}
    shown = [line.strip() for line in snippet.splitlines() if line.strip()]
    assert len(shown) >= 8 and all(line in lines for line in shown)
