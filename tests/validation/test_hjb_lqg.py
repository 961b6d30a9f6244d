"""DeepBSDE's HJB-LQ benchmark: the exact reference vs published values, Monte Carlo and its PDE; the problem's signs."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hjb.errors import ProblemError
from hjb.pdes.finite_horizon import finite_horizon_residual
from hjb.pdes.hjb_lqg import hjb_lqg
from hjb.validation.hjb_lqg import hjb_lqg_terminal, hjb_lqg_value

# Known values of u(0, 0) in d = 100, T = 1, each with the relative tolerance of the digits it is known to.
PUBLISHED = [(1.0, 4.590162, 1e-6), (10.0, 4.492929, 1e-6), (50.0, 3.72418, 1e-5)]


@pytest.mark.parametrize(("lam", "value", "rtol"), PUBLISHED)
def test_value_at_the_origin_matches_the_published_numbers(lam, value, rtol):
    got = hjb_lqg_value(0.0, np.zeros((1, 100)), lam)
    np.testing.assert_allclose(got, [value], rtol=rtol)


def test_small_lambda_tends_to_the_expected_terminal_cost():
    """u → E g(x + √2 W_T) as λ → 0; at x = 0, d = 100, T = 1 that is 4.600226, and u < E g for λ > 0 (Jensen)."""
    small = hjb_lqg_value(0.0, np.zeros((1, 100)), 1e-6)[0]
    assert small < 4.600226 + 1e-6
    np.testing.assert_allclose(small, 4.600226, rtol=1e-6)


def test_value_at_the_horizon_and_just_before_it():
    """u(T) = g; u(T − τ) = g + τ(Δg − λ|∇g|²) + O(τ²) with Δg = 2d/(1 + |x|²) − |∇g|², |∇g|² = 4|x|²/(1 + |x|²)²."""
    rng = np.random.default_rng(0)
    x, lam, tau = rng.normal(size=(5, 100)) * 0.4, 2.0, 1e-6
    np.testing.assert_array_equal(hjb_lqg_value(1.0, x, lam), hjb_lqg_terminal(x))
    s = np.sum(x * x, axis=1)
    grad2 = 4.0 * s / (1.0 + s) ** 2
    expected = hjb_lqg_terminal(x) + tau * (2.0 * 100 / (1.0 + s) - grad2 - lam * grad2)
    np.testing.assert_allclose(hjb_lqg_value(1.0 - tau, x, lam), expected, rtol=1e-10)


@pytest.mark.parametrize("t", [0.0, 0.5])
def test_value_matches_monte_carlo_at_lambda_one(t):
    rng = np.random.default_rng(1 if t == 0.0 else 2)
    d, lam, n = 100, 1.0, 200_000
    x = rng.normal(size=(3, d)) * np.array([[0.0], [0.3], [1.0]])
    exact = hjb_lqg_value(t, x, lam)
    for i in range(3):
        samples = np.concatenate([
            np.exp(-lam * hjb_lqg_terminal(x[i] + math.sqrt(2.0 * (1.0 - t)) * rng.standard_normal((50_000, d))))
            for _ in range(n // 50_000)
        ])
        mean = samples.mean()
        se = samples.std(ddof=1) / math.sqrt(n) / (lam * mean)  # delta method for −ln(mean)/λ
        assert abs(-math.log(mean) / lam - exact[i]) < 4 * se, (i, -math.log(mean) / lam, exact[i], se)


def _fd_derivatives(u, t: float, x: np.ndarray, h: float = 2.5e-3):
    """∂_t u (n,), ∇u (n, d), ∇²u (n, d, d) of u(t, x) by fourth-order central differences (mixed: second order);
    at h = 2.5e-3 truncation (∝ h⁴) and rounding (the reference is good to ~1e-14, ∝ 1/h²) are both ≈ 1e-9."""
    n, d = x.shape
    eye = np.eye(d)

    def first(f):
        return (-f(2) + 8 * f(1) - 8 * f(-1) + f(-2)) / (12 * h)

    def second(f):
        return (-f(2) + 16 * f(1) - 30 * f(0) + 16 * f(-1) - f(-2)) / (12 * h * h)

    dt = first(lambda k: u(t + k * h, x))
    grad = np.stack([first(lambda k, i=i: u(t, x + k * h * eye[i])) for i in range(d)], axis=1)
    hess = np.empty((n, d, d))
    for i in range(d):
        hess[:, i, i] = second(lambda k, i=i: u(t, x + k * h * eye[i]))
        for j in range(i):
            mixed = sum(si * sj * u(t, x + h * (si * eye[i] + sj * eye[j])) for si in (1, -1) for sj in (1, -1))
            hess[:, i, j] = hess[:, j, i] = mixed / (4 * h * h)
    return dt, grad, hess


@pytest.mark.parametrize(("lam", "t"), [(1.0, 0.2), (4.0, 0.6)])
def test_reference_solves_the_pde_in_two_dimensions(lam, t):
    x = np.random.default_rng(3).uniform(-2.0, 2.0, size=(6, 2))
    dt, grad, hess = _fd_derivatives(lambda s, y: hjb_lqg_value(s, y, lam), t, x)
    residual = dt + np.trace(hess, axis1=1, axis2=2) - lam * np.sum(grad * grad, axis=1)
    assert np.max(np.abs(residual) / np.abs(dt)) < 1e-6, residual / dt


def test_problem_shapes_terminal_and_parameters():
    problem = hjb_lqg()
    assert problem.check_shapes() == 100
    assert (problem.state_dim, problem.action_dim, problem.horizon) == (100, 100, 1.0)
    assert problem.parameters == {"dim": 100, "lam": 1.0, "horizon": 1.0}
    np.testing.assert_allclose(problem.domain.box.hi, 4.0 * math.sqrt(2.0))
    np.testing.assert_allclose(problem.domain.box.lo, -4.0 * math.sqrt(2.0))
    x = np.random.default_rng(4).normal(size=(7, 100))
    np.testing.assert_allclose(problem.terminal(torch.tensor(x))[:, 0].numpy(), -hjb_lqg_terminal(x), rtol=1e-14)


def test_exact_value_zeroes_the_problem_residual():
    """V = −u fed to ∂_t V + max_a {r + L^a V} through the problem's greedy action vanishes (signs of f, Σ, r, a*)."""
    lam, horizon, t = 3.0, 1.5, 0.7
    problem = hjb_lqg(dim=2, lam=lam, horizon=horizon)
    x = np.random.default_rng(5).uniform(-2.0, 2.0, size=(6, 2))
    dt, grad, hess = _fd_derivatives(lambda s, y: -hjb_lqg_value(s, y, lam, horizon), t, x)
    args = [torch.tensor(x), torch.full((6, 1), t, dtype=torch.float64), torch.tensor(dt[:, None]),
            torch.tensor(grad), torch.tensor(hess)]
    residual = finite_horizon_residual(problem, *args).numpy()[:, 0]
    assert np.max(np.abs(residual) / np.abs(dt)) < 1e-6, residual / dt
    # Any other action earns less: with a = 0 the residual is −λ|∇V|² < 0.
    idle = finite_horizon_residual(problem, *args, a=torch.zeros(6, 2, dtype=torch.float64)).numpy()[:, 0]
    np.testing.assert_allclose(idle, -lam * np.sum(grad * grad, axis=1), rtol=1e-5)


@pytest.mark.parametrize("lam", [0.0, -1.0, float("nan")])
def test_non_positive_lambda_is_rejected(lam):
    with pytest.raises(ProblemError, match="lam"):
        hjb_lqg(dim=2, lam=lam)
    with pytest.raises(ProblemError, match="lam"):
        hjb_lqg_value(0.0, np.zeros((1, 2)), lam)


def test_bad_dimension_and_times_are_rejected():
    with pytest.raises(ProblemError, match="dim"):
        hjb_lqg(dim=0)
    with pytest.raises(ProblemError, match="t must lie"):
        hjb_lqg_value(1.5, np.zeros((1, 2)), 1.0)
    with pytest.raises(ProblemError, match="x must be"):
        hjb_lqg_value(0.0, np.zeros(2), 1.0)
