"""The entropy-regularised LQR closed form (hjb.validation.entropy_lqr) against computations that share none of its
algebra: the gain from scipy's ARE, r and the dynamics from the problem's own torch functions, ∇V and ∇²V by central
differences of V (exact for a quadratic up to rounding), the integrals over actions by Gauss–Hermite quadrature or
the trapezoid rule, the Gaussian log-density from scipy."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.linalg import solve_continuous_are
from scipy.stats import multivariate_normal

from hjb.errors import ProblemError, ShapeError
from hjb.pdes import seed_lqr
from hjb.pdes.double_integrator import double_integrator
from hjb.pdes.lqr import coupled_lqr
from hjb.validation.entropy_lqr import EntropyLQR
from hjb.validation.riccati import lqr_solution

SEED_K = 2.65975
GAMMA = 0.1

# (problem builder, temperature γ, states x (n, d)); the builders run inside the tests.
CASES = {
    "seed": (seed_lqr, GAMMA, [[-1.7], [-0.3], [0.0], [0.8], [2.0]]),
    "double_integrator": (lambda: double_integrator(bound=None), GAMMA,
                          [[0.0, 0.0], [1.0, -0.5], [-1.5, 1.2], [0.4, 2.0]]),
    "coupled_3d_2a": (lambda: coupled_lqr(3, controls=2), 0.05,
                      [[0.0, 0.0, 0.0], [0.5, -0.7, 0.2], [-1.0, 0.3, 0.9]]),
}


def _case(name):
    build, gamma, xs = CASES[name]
    problem = build()
    return problem, EntropyLQR(problem, gamma), np.asarray(xs, dtype=float)


def _scipy_gain(problem) -> np.ndarray:
    shifted = problem.A - 0.5 * problem.discount * np.eye(problem.A.shape[0])
    P = solve_continuous_are(shifted, problem.B, problem.Q, problem.R)
    return np.linalg.solve(problem.R, problem.B.T @ P)


def _derivatives(V, x: np.ndarray, h: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """∇V (d,) and ∇²V (d, d) at one x (d,) by central differences of V: (n, d) -> (n,)."""
    d = x.size
    E = h * np.eye(d)
    grad = np.array([(V((x + E[i])[None])[0] - V((x - E[i])[None])[0]) / (2 * h) for i in range(d)])
    hess = np.empty((d, d))
    for i, j in itertools.product(range(d), repeat=2):
        corners = [s * E[i] + t * E[j] for s, t in ((1, 1), (1, -1), (-1, 1), (-1, -1))]
        values = V(np.stack([x + c for c in corners]))
        hess[i, j] = (values[0] - values[1] - values[2] + values[3]) / (4 * h * h)
    return grad, hess


def _hamiltonian(problem, V, x: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """H(x, a) = r(x, a) + ∇V·f(x, a) + ½Tr(ΣΣᵀ∇²V) (N,) at one x (d,) for actions (N, m), from the problem's
    torch functions and differences of V."""
    grad, hess = _derivatives(V, x)
    xt = torch.as_tensor(np.repeat(x[None], len(actions), axis=0), dtype=torch.float64)
    at = torch.as_tensor(actions, dtype=torch.float64)
    r = problem.reward(xt, at).numpy()[:, 0]
    f = problem.drift(xt, at).numpy()
    sigma = problem.diffusion(xt, at).numpy()
    curvature = 0.5 * np.einsum("nik,njk,ij->n", sigma, sigma, hess)
    return r + f @ grad + curvature


def _gauss_hermite(mean: np.ndarray, cov: np.ndarray, nodes: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Actions (N, m) and weights (N,) with Σ w g(a) = E g(a) for a ~ N(mean, cov), exact for polynomials of
    degree < 2·nodes in each coordinate."""
    z, w = np.polynomial.hermite.hermgauss(nodes)
    m = mean.size
    Z = np.array(list(itertools.product(z, repeat=m)))
    W = np.prod(np.array(list(itertools.product(w, repeat=m))), axis=1) / np.pi ** (m / 2)
    return mean + np.sqrt(2.0) * Z @ np.linalg.cholesky(cov).T, W


def _objective(problem, ent, x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> float:
    """∫(H(x, a) − γ log π(a)) π(a) da for π = N(mean, cov), by Gauss–Hermite (the integrand is quadratic in a)."""
    actions, weights = _gauss_hermite(mean, cov)
    log_pi = multivariate_normal(mean, cov).logpdf(actions).reshape(-1)
    return float(weights @ (_hamiltonian(problem, ent.value, x, actions) - ent.temperature * log_pi))


def _kl(mean0, cov0, mean1, cov1) -> float:
    """KL(N(mean0, cov0) ‖ N(mean1, cov1))."""
    inv1 = np.linalg.inv(cov1)
    e = mean1 - mean0
    m = mean0.size
    return 0.5 * (np.trace(inv1 @ cov0) + e @ inv1 @ e - m + np.linalg.slogdet(cov1)[1] - np.linalg.slogdet(cov0)[1])


def test_seed_gain_is_the_riccati_gain():
    ent = EntropyLQR(seed_lqr(), GAMMA)
    assert ent.gain().shape == (1, 1)
    np.testing.assert_allclose(ent.gain(), _scipy_gain(seed_lqr()), rtol=1e-12)
    assert abs(ent.gain()[0, 0] - SEED_K) < 1e-5
    np.testing.assert_allclose(ent.policy_covariance(), [[GAMMA / 0.1]], rtol=1e-14)  # γ/r_a, r_a = R = 0.1


@pytest.mark.parametrize("name", list(CASES))
def test_gain_and_shapes(name):
    problem, ent, xs = _case(name)
    d, m = problem.state_dim, problem.action_dim
    np.testing.assert_allclose(ent.gain(), _scipy_gain(problem), rtol=1e-10, atol=1e-12)
    assert ent.policy_mean(xs).shape == (len(xs), m)
    assert ent.policy_covariance().shape == (m, m)
    assert ent.value(xs).shape == (len(xs),)
    assert ent.q_function(xs, ent.policy_mean(xs)).shape == (len(xs),)
    np.testing.assert_allclose(ent.policy_covariance(), ent.temperature * np.linalg.inv(problem.R), rtol=1e-12)
    assert d == xs.shape[1]


@pytest.mark.parametrize("name", list(CASES))
def test_entropy_hjb_residual_vanishes(name):
    """ρV(x) − ∫(r + L^aV − γ log π*)π* da = 0 at every x."""
    problem, ent, xs = _case(name)
    cov = ent.policy_covariance()
    for x, mean, value in zip(xs, ent.policy_mean(xs), ent.value(xs), strict=True):
        residual = problem.discount * value - _objective(problem, ent, x, mean, cov)
        assert abs(residual) < 1e-10, (x, residual)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("perturbation", ["mean", "variance", "both"])
def test_optimal_policy_maximises(name, perturbation):
    """A perturbed Gaussian scores strictly less, by exactly γ·KL(π ‖ π*) (Gibbs' variational identity)."""
    problem, ent, xs = _case(name)
    cov = ent.policy_covariance()
    for x, mean in zip(xs, ent.policy_mean(xs), strict=True):
        other_mean = mean + (0.1 if perturbation in ("mean", "both") else 0.0)
        other_cov = cov * (1.2 if perturbation in ("variance", "both") else 1.0)
        best = _objective(problem, ent, x, mean, cov)
        worse = _objective(problem, ent, x, other_mean, other_cov)
        gap = ent.temperature * _kl(other_mean, other_cov, mean, cov)
        assert gap > 1e-4
        assert worse < best - 1e-4
        assert abs((best - worse) - gap) < 1e-10


@pytest.mark.parametrize("name", list(CASES))
def test_q_is_normalised_and_is_gamma_log_policy(name):
    """∫exp(q(x, a)/γ) da = 1 (trapezoid on a wide grid), q = r + L^aV − ρV, and q = γ log π*."""
    problem, ent, xs = _case(name)
    gamma, m = ent.temperature, problem.action_dim
    axis = np.arange(-40.0, 40.0 + 1e-9, 0.02) if m == 1 else np.arange(-12.0, 12.0 + 1e-9, 0.04)
    grid = np.stack(np.meshgrid(*[axis] * m, indexing="ij"), axis=-1).reshape(-1, m)
    for x in xs:
        q = ent.q_function(np.repeat(x[None], len(grid), axis=0), grid)
        with np.errstate(under="ignore"):  # exp(q/γ) underflows to 0 far from the mean, as it should
            total = np.exp(q / gamma).reshape([axis.size] * m)
            for _ in range(m):
                total = np.trapezoid(total, axis, axis=0)
        assert abs(total - 1.0) < 1e-9, (x, total)

        sample = grid[:: max(1, len(grid) // 40)]
        xs_sample = np.repeat(x[None], len(sample), axis=0)
        q = ent.q_function(xs_sample, sample)
        independent = _hamiltonian(problem, ent.value, x, sample) - problem.discount * ent.value(x[None])[0]
        np.testing.assert_allclose(q, independent, rtol=1e-10, atol=1e-9)
        logpdf = multivariate_normal(ent.policy_mean(x[None])[0], ent.policy_covariance()).logpdf(sample)
        np.testing.assert_allclose(q, gamma * logpdf.reshape(-1), rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(ent.log_policy(xs_sample, sample), logpdf.reshape(-1), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("name, r_a", [("seed", 0.1), ("double_integrator", 0.2)])
def test_value_shift_is_the_issue_formula(name, r_a):
    """V_γ − V_0 = (γ/2ρ) ln(2πγ/r_a) with r_a the coefficient of −½a² (hjb's R; the double integrator's −0.1a² is
    −½·0.2a²): the issue's shift with no extra constant, the entropy's +γm/2 cancelling the exploration cost's −γm/2."""
    problem, ent, xs = _case(name)
    gamma, rho = ent.temperature, problem.discount
    shift = gamma / (2 * rho) * np.log(2 * np.pi * gamma / r_a)
    np.testing.assert_allclose(ent.value(xs) - lqr_solution(problem).value(xs), shift, rtol=1e-12, atol=1e-13)
    assert ent.value_shift == pytest.approx(shift, rel=1e-13)
    entropy = 0.5 * np.log(2 * np.pi * np.e * gamma / r_a)
    exploration_cost = -0.5 * r_a * (gamma / r_a)
    assert shift == pytest.approx((gamma * entropy + exploration_cost) / rho, rel=1e-13)


def test_value_shift_in_several_actions():
    problem, ent, xs = _case("coupled_3d_2a")
    gamma, rho = ent.temperature, problem.discount
    shift = gamma / (2 * rho) * (2 * np.log(2 * np.pi * gamma) - np.log(np.linalg.det(problem.R)))
    np.testing.assert_allclose(ent.value(xs) - lqr_solution(problem).value(xs), shift, rtol=1e-12, atol=1e-13)


def test_zero_temperature_limit_is_the_lqr():
    problem = seed_lqr()
    x = np.array([[-1.0], [0.5]])
    gaps = [np.max(np.abs(EntropyLQR(problem, g).value(x) - lqr_solution(problem).value(x))) for g in (1e-3, 1e-6)]
    assert gaps[1] < gaps[0] < 0.1


def test_mapping_of_matrices_matches_the_problem():
    problem = double_integrator(bound=None)
    x = np.array([[0.3, -0.4]])
    a = np.array([[0.7]])
    from_problem, from_matrices = EntropyLQR(problem, GAMMA), EntropyLQR(problem.parameters, GAMMA)
    np.testing.assert_array_equal(from_problem.value(x), from_matrices.value(x))
    np.testing.assert_array_equal(from_problem.q_function(x, a), from_matrices.q_function(x, a))


def test_bad_inputs_raise():
    with pytest.raises(ProblemError, match="temperature"):
        EntropyLQR(seed_lqr(), 0.0)
    with pytest.raises(ProblemError, match="action_bounds"):
        EntropyLQR(double_integrator(), GAMMA)
    with pytest.raises(ProblemError, match="lacks"):
        EntropyLQR({"A": 1.0}, GAMMA)
    with pytest.raises(ProblemError, match="R"):
        EntropyLQR(dict(A=-0.5, B=1.0, Q=1.0, R=-0.1, D=0.3, discount=0.1), GAMMA)
    ent = EntropyLQR(seed_lqr(), GAMMA)
    with pytest.raises(ShapeError):
        ent.value(np.zeros(3))
    with pytest.raises(ShapeError):
        ent.q_function(np.zeros((2, 1)), np.zeros((3, 1)))
