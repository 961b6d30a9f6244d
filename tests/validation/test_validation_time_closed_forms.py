"""Time-dependent closed forms (linear-SDE Gaussians, finite-horizon LQR, energy distance) vs independent references."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from scipy.linalg import solve_continuous_are

from hjb.errors import ProblemError
from hjb.validation import energy
from hjb.validation.energy import energy_distance
from hjb.validation.finite_lqr import FiniteHorizonRiccati
from hjb.validation.gaussian import (
    GaussianLaw,
    gaussian_density,
    gaussian_log_density,
    gaussian_marginal,
    stationary_covariance,
)

# A 2-D linear SDE with a non-symmetric, non-normal stable drift (eigenvalues −1.25 ± 0.97i).
F2 = np.array([[-1.0, 2.0], [-0.5, -1.5]])
D2 = np.array([[0.5, 0.0], [0.3, 0.4]])
M0 = np.array([1.0, -0.5])
S0 = np.array([[0.2, 0.05], [0.05, 0.1]])


# ---------------------------------------------------------------- Gaussian marginals of linear SDEs


def test_gaussian_marginal_matches_euler_maruyama_monte_carlo():
    rng = np.random.default_rng(0)
    n, steps, t = 20_000, 1000, 1.0
    dt = t / steps
    x = M0 + rng.standard_normal((n, 2)) @ np.linalg.cholesky(S0).T
    for _ in range(steps):
        x = x + dt * x @ F2.T + np.sqrt(dt) * rng.standard_normal((n, 2)) @ D2.T
    m_t, S_t = gaussian_marginal(F2, D2, M0, S0, t)
    m_mc, S_mc = x.mean(axis=0), np.cov(x.T)
    se_mean = np.sqrt(np.diag(S_t) / n)
    se_cov = np.sqrt((np.outer(np.diag(S_t), np.diag(S_t)) + S_t**2) / n)  # Var of a Gaussian sample covariance
    assert np.all(np.abs(m_mc - m_t) < 4 * se_mean), (m_mc, m_t, se_mean)
    assert np.all(np.abs(S_mc - S_t) < 4 * se_cov), (S_mc, S_t, se_cov)


def test_gaussian_marginal_at_zero_is_the_initial_law():
    m_t, S_t = gaussian_marginal(F2, D2, M0, S0, 0.0)
    np.testing.assert_array_equal(m_t, M0)
    np.testing.assert_allclose(S_t, S0, rtol=0, atol=1e-15)


def test_gaussian_marginal_tends_to_the_lyapunov_limit():
    m_t, S_t = gaussian_marginal(F2, D2, M0, S0, 60.0)
    np.testing.assert_allclose(m_t, 0.0, atol=1e-20)
    np.testing.assert_allclose(S_t, stationary_covariance(F2, D2), rtol=1e-12, atol=1e-14)


def test_gaussian_marginal_scalar_ornstein_uhlenbeck():
    theta, sigma, m0, s0 = 0.7, 0.4, 1.3, 0.25
    for t in (0.1, 1.0, 5.0):
        m_t, S_t = gaussian_marginal([[-theta]], [[sigma]], [m0], [[s0]], t)
        decay = np.exp(-2 * theta * t)
        np.testing.assert_allclose(m_t, [m0 * np.exp(-theta * t)], rtol=1e-13)
        np.testing.assert_allclose(S_t, [[s0 * decay + sigma**2 / (2 * theta) * (1 - decay)]], rtol=1e-13)


def test_gaussian_marginal_without_stationary_law():
    """F = 0 (Brownian motion) and a nilpotent F (integrated Brownian motion): no Lyapunov equation to lean on."""
    t, sigma = 2.5, 0.6
    _, S_t = gaussian_marginal(np.zeros((2, 2)), D2, M0, S0, t)
    np.testing.assert_allclose(S_t, S0 + t * D2 @ D2.T, rtol=1e-13)
    m_t, S_t = gaussian_marginal([[0.0, 1.0], [0.0, 0.0]], [[0.0], [sigma]], [1.0, 2.0], np.zeros((2, 2)), t)
    np.testing.assert_allclose(m_t, [1.0 + 2.0 * t, 2.0], rtol=1e-14)
    np.testing.assert_allclose(S_t, sigma**2 * np.array([[t**3 / 3, t**2 / 2], [t**2 / 2, t]]), rtol=1e-12)


def test_gaussian_marginal_rejects_bad_input():
    with pytest.raises(ProblemError, match="t must be"):
        gaussian_marginal(F2, D2, M0, S0, -1.0)
    with pytest.raises(ProblemError, match="m0 must be"):
        gaussian_marginal(F2, D2, [0.0, 0.0, 0.0], S0, 1.0)
    with pytest.raises(ProblemError, match="D must be"):
        gaussian_marginal(F2, np.ones((3, 2)), M0, S0, 1.0)


def test_stationary_covariance_solves_lyapunov():
    S = stationary_covariance(F2, D2)
    np.testing.assert_allclose(F2 @ S + S @ F2.T + D2 @ D2.T, 0.0, atol=1e-12)
    np.testing.assert_allclose(S, S.T, atol=0)
    assert np.linalg.eigvalsh(S).min() > 0


@pytest.mark.parametrize("F", [[[0.1, 0.0], [0.0, -1.0]], [[0.0, 1.0], [-1.0, 0.0]], [[0.0]]])
def test_stationary_covariance_rejects_non_hurwitz(F):
    D = np.eye(len(F))
    with pytest.raises(ProblemError, match="max real part"):
        stationary_covariance(F, D)


def test_gaussian_densities_match_scipy():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 2)) * 2.0
    mean, cov = np.array([0.3, -0.2]), np.array([[1.5, 0.4], [0.4, 0.6]])
    ref = scipy.stats.multivariate_normal(mean, cov)
    np.testing.assert_allclose(gaussian_log_density(x, mean, cov), ref.logpdf(x), rtol=1e-12)
    np.testing.assert_allclose(gaussian_density(x, mean, cov), ref.pdf(x), rtol=1e-12)
    law = GaussianLaw(mean, cov)
    np.testing.assert_allclose(law.log_density(x), ref.logpdf(x), rtol=1e-12)
    np.testing.assert_allclose(law.density(x), ref.pdf(x), rtol=1e-12)
    assert gaussian_density(np.array([[1e3, 0.0]]), mean, cov)[0] == 0.0  # underflow is a 0, not an error


def test_gaussian_law_of_linear_sde_and_sampling():
    law = GaussianLaw.of_linear_sde(F2, D2, M0, S0, 0.5)
    m_t, S_t = gaussian_marginal(F2, D2, M0, S0, 0.5)
    np.testing.assert_array_equal(law.mean, m_t)
    np.testing.assert_allclose(law.cov, S_t, atol=0)
    z = law.sample(20_000, np.random.default_rng(2))
    assert z.shape == (20_000, 2)
    np.testing.assert_allclose(z.mean(axis=0), m_t, atol=4 * np.sqrt(np.diag(S_t).max() / 20_000))
    with pytest.raises(ProblemError, match="positive definite"):
        GaussianLaw([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ProblemError, match="symmetric"):
        gaussian_log_density(np.zeros((1, 2)), [0.0, 0.0], [[1.0, 0.5], [0.0, 1.0]])


# ---------------------------------------------------------------- finite-horizon LQR

A2 = np.array([[0.2, 1.0], [-0.4, -0.3]])
B2 = np.array([[0.0], [1.0]])
Q2 = np.diag([1.0, 0.5])
R2 = np.array([[0.7]])
G2 = np.array([[1.0, 0.2], [0.2, 0.5]])


def test_finite_riccati_scalar_uncontrolled_is_exponential():
    a, q, g, sigma, T = 0.3, 2.0, 1.0, 0.5, 2.0
    ric = FiniteHorizonRiccati([[a]], [[0.0]], [[q]], [[1.0]], [[sigma]], [[g]], horizon=T)
    t = np.linspace(0.0, T, 9)
    grow = np.exp(2 * a * (T - t))
    P_exact = (g + q / (2 * a)) * grow - q / (2 * a)
    c_exact = 0.5 * sigma**2 * ((g + q / (2 * a)) * (grow - 1) / (2 * a) - q / (2 * a) * (T - t))
    np.testing.assert_allclose(ric.P(t)[:, 0, 0], P_exact, rtol=1e-10)
    np.testing.assert_allclose(ric.c(t), c_exact, rtol=1e-10, atol=1e-12)
    assert ric.P(0.7).shape == (1, 1) and isinstance(ric.c(0.7), float)


def test_finite_riccati_ode_residual_by_finite_differences():
    ric = FiniteHorizonRiccati(A2, B2, Q2, R2, D2, G2, horizon=1.5)
    np.testing.assert_allclose(ric.P(1.5), G2, atol=1e-14)
    assert ric.c(1.5) == 0.0
    h = 1e-4
    for t in (0.2, 0.75, 1.3):
        fd_P = (ric.P(t + h) - ric.P(t - h)) / (2 * h)
        fd_c = (ric.c(t + h) - ric.c(t - h)) / (2 * h)
        scale = np.abs(ric.dPdt(t)).max()
        np.testing.assert_allclose(fd_P, ric.dPdt(t), rtol=0, atol=1e-7 * scale)
        np.testing.assert_allclose(fd_c, ric.dcdt(t), rtol=1e-7)


def test_finite_riccati_value_and_policy_solve_the_hjb():
    """∂_tV + max_a[(Ax + Ba)·∇V − ½aᵀRa] + ½Tr(DDᵀ∇²V) − ½xᵀQx = 0, with a* the argmax."""
    ric = FiniteHorizonRiccati(A2, B2, Q2, R2, D2, G2, horizon=1.5)
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((25, 2)), rng.uniform(0.0, 1.5, 25)
    P = ric.P(t)
    V_t = -0.5 * np.einsum("ni,nij,nj->n", x, ric.dPdt(t), x) - ric.dcdt(t)
    grad = -np.einsum("nij,nj->ni", P, x)
    trace = -0.5 * np.einsum("ij,nij->n", D2 @ D2.T, P)

    def hamiltonian(a):
        drift = x @ A2.T + a @ B2.T
        return np.sum(drift * grad, axis=1) - 0.5 * np.einsum("ni,ij,nj->n", a, R2, a)

    a_star = ric.policy(x, t)
    assert a_star.shape == (25, 1)
    residual = V_t + hamiltonian(a_star) + trace - 0.5 * np.einsum("ni,ij,nj->n", x, Q2, x)
    np.testing.assert_allclose(residual, 0.0, atol=1e-9)
    for delta in (-1e-3, 1e-3):
        assert np.all(hamiltonian(a_star + delta) < hamiltonian(a_star))
    np.testing.assert_allclose(ric.value(x, 1.5), -0.5 * np.einsum("ni,ij,nj->n", x, G2, x), atol=1e-13)
    np.testing.assert_allclose(ric.value(x, 0.4), ric.value(x, np.full(25, 0.4)), atol=0)


def test_finite_riccati_long_horizon_tends_to_the_are():
    ric = FiniteHorizonRiccati(A2, B2, Q2, R2, D2, np.zeros((2, 2)), horizon=40.0)
    P_are = solve_continuous_are(A2, B2, Q2, R2)
    np.testing.assert_allclose(ric.P(0.0), P_are, rtol=1e-9, atol=1e-10)
    assert ric.dcdt(0.0) == pytest.approx(-0.5 * np.trace(D2.T @ P_are @ D2), rel=1e-9)


def test_finite_riccati_rejects_bad_input():
    ric = FiniteHorizonRiccati(A2, B2, Q2, R2, D2, G2, horizon=1.0)
    with pytest.raises(ProblemError, match="t must lie"):
        ric.P(1.5)
    with pytest.raises(ProblemError, match="x must be"):
        ric.value(np.zeros((3, 3)), 0.5)
    with pytest.raises(ProblemError, match="R must be positive definite"):
        FiniteHorizonRiccati(A2, B2, Q2, [[0.0]], D2, G2, horizon=1.0)
    with pytest.raises(ProblemError, match="start < horizon"):
        FiniteHorizonRiccati(A2, B2, Q2, R2, D2, G2, horizon=0.0)


# ---------------------------------------------------------------- energy distance


def _brute_energy(x, y):
    def mean_dist(a, b):
        return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1).mean()

    return 2 * mean_dist(x, y) - mean_dist(x, x) - mean_dist(y, y)


def test_energy_distance_hand_values():
    assert energy_distance([0.0], [1.0]) == pytest.approx(2.0)
    assert energy_distance([0.0, 2.0], [1.0]) == pytest.approx(1.0)  # 2·1 − (0 + 2 + 2 + 0)/4 − 0


def test_energy_distance_is_the_square_of_scipys_in_1d():
    rng = np.random.default_rng(4)
    for n, m, shift in ((50, 70, 0.3), (200, 13, 0.0), (1, 9, 2.0)):
        u, v = rng.standard_normal(n), rng.standard_normal(m) + shift
        ref = scipy.stats.energy_distance(u, v)
        assert energy_distance(u, v) == pytest.approx(ref**2, rel=1e-10)
        assert energy_distance(u[:, None], v[:, None]) == pytest.approx(ref**2, rel=1e-10)


def test_energy_distance_brute_force_2d_and_chunking(monkeypatch):
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((37, 2)), rng.standard_normal((53, 2)) * 1.5 + 0.2
    ref = _brute_energy(x, y)
    assert energy_distance(x, y) == pytest.approx(ref, rel=1e-12)
    monkeypatch.setattr(energy, "_BLOCK_ENTRIES", 100)  # row blocks of 1–2 rows
    assert energy_distance(x, y) == pytest.approx(ref, rel=1e-12)


def test_energy_distance_zero_symmetric_and_grows_with_a_shift():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((400, 2))
    assert abs(energy_distance(x, x)) < 1e-14
    assert abs(energy_distance(x, x[rng.permutation(400)])) < 1e-12
    y = rng.standard_normal((300, 2))
    assert energy_distance(x, y) == pytest.approx(energy_distance(y, x), rel=1e-13)
    same, shifted, far = energy_distance(x, y), energy_distance(x, y + 0.5), energy_distance(x, y + 2.0)
    assert 0 < same < shifted < far


def test_energy_distance_rejects_bad_samples():
    with pytest.raises(ProblemError, match="same dimension"):
        energy_distance(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ProblemError, match="finite"):
        energy_distance(np.array([[0.0, np.nan]]), np.zeros((3, 2)))
    with pytest.raises(ProblemError, match="non-empty"):
        energy_distance(np.zeros((0, 2)), np.zeros((3, 2)))
