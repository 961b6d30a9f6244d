"""The closed forms in hjb.validation against computations that do not use hjb (MATH.md §2-3)."""
from __future__ import annotations

import numpy as np
import pytest

from hjb.errors import ProblemError
from hjb.pdes import Merton, StochasticLQR
from hjb.validation.merton import merton_closed_form, merton_solution
from hjb.validation.riccati import discounted_riccati, lqr_solution

# ---------------------------------------------------------------- LQR (MATH.md §2)

SEED_LQR = dict(A=-0.5, B=1.0, Q=1.0, R=0.1, D=0.3, discount=0.1)
SEED_P, SEED_K, SEED_C = 0.2659750769, 2.6597507691, 0.1196887846


def _scalar_riccati_by_hand(A, B, Q, R, D, discount):
    """Positive root of (B²/R) P² − 2(A − ρ/2) P − Q = 0, then K = BP/R, c = D²P/(2ρ)."""
    roots = np.roots([B**2 / R, -2.0 * (A - discount / 2.0), -Q])
    P = float(np.max(roots.real))
    assert P > 0 and np.min(roots.real) < 0  # exactly one stabilising (positive) root
    return P, B * P / R, D**2 * P / (2.0 * discount)


def _are_residual(A, B, Q, R, P, discount):
    As = A - 0.5 * discount * np.eye(A.shape[0])
    return As.T @ P + P @ As - P @ B @ np.linalg.solve(R, B.T) @ P + Q


def _riccati_by_hamiltonian(A, B, Q, R, discount):
    """Stabilising ARE solution from the stable invariant subspace of the Hamiltonian matrix (no scipy ARE)."""
    d = A.shape[0]
    As = A - 0.5 * discount * np.eye(d)
    H = np.block([[As, -B @ np.linalg.solve(R, B.T)], [-Q, -As.T]])
    w, V = np.linalg.eig(H)
    stable = V[:, w.real < 0]
    assert stable.shape[1] == d
    P = np.real(stable[d:] @ np.linalg.inv(stable[:d]))
    return 0.5 * (P + P.T)


def test_seed_lqr_matches_math_sheet_and_hand_solution():
    P_hand, K_hand, c_hand = _scalar_riccati_by_hand(**SEED_LQR)
    # The sheet's 10-digit values against the hand-solved quadratic ...
    assert P_hand == pytest.approx(SEED_P, abs=1e-10)
    assert K_hand == pytest.approx(SEED_K, abs=1e-9)
    assert c_hand == pytest.approx(SEED_C, abs=1e-10)
    # ... and hjb's solver against both.
    sol = discounted_riccati(**SEED_LQR)
    assert sol.P.shape == (1, 1) and sol.K.shape == (1, 1)
    assert sol.P[0, 0] == pytest.approx(P_hand, rel=1e-12)
    assert sol.K[0, 0] == pytest.approx(K_hand, rel=1e-12)
    assert sol.c == pytest.approx(c_hand, rel=1e-12)
    assert sol.P[0, 0] == pytest.approx(SEED_P, abs=1e-10)
    assert sol.K[0, 0] == pytest.approx(SEED_K, abs=1e-9)
    assert sol.c == pytest.approx(SEED_C, abs=1e-10)
    # Closed-loop drift and stationary variance quoted in the sheet.
    F = SEED_LQR["A"] - SEED_LQR["B"] * K_hand
    assert F == pytest.approx(-3.1597507691, abs=1e-9)
    assert SEED_LQR["D"] ** 2 / (2 * -F) == pytest.approx(0.0142416296, abs=1e-10)


def test_seed_lqr_problem_and_solution_agree():
    from hjb.pdes import seed_lqr

    sol = lqr_solution(seed_lqr())
    assert sol.P[0, 0] == pytest.approx(SEED_P, abs=1e-10)
    x = np.array([[-1.0], [0.0], [0.5]])
    np.testing.assert_allclose(sol.value(x), -0.5 * SEED_P * x[:, 0] ** 2 - SEED_C, rtol=1e-9)
    np.testing.assert_allclose(sol.policy(x), -SEED_K * x, rtol=1e-9)


def _lqr_2d():
    A = np.array([[-0.5, 0.4], [-0.3, -0.8]])
    B = np.array([[1.0, 0.2], [0.0, 0.7]])
    return dict(A=A, B=B, Q=np.eye(2), R=np.diag([0.2, 0.1]), D=0.3 * np.eye(2), discount=0.1)


def _lqr_5d():
    rng = np.random.default_rng(1234)
    d, m, k = 5, 2, 3
    A = rng.normal(size=(d, d)) / np.sqrt(d) - 0.3 * np.eye(d)
    B = rng.normal(size=(d, m))
    M = rng.normal(size=(d, d))
    Q = M @ M.T / d + 0.5 * np.eye(d)
    N = rng.normal(size=(m, m))
    R = N @ N.T + 0.5 * np.eye(m)
    D = 0.3 * rng.normal(size=(d, k))
    return dict(A=A, B=B, Q=Q, R=R, D=D, discount=0.2)


@pytest.mark.parametrize("case", [_lqr_2d, _lqr_5d], ids=["2d", "5d"])
def test_multidimensional_riccati(case):
    p = case()
    sol = discounted_riccati(**p)
    A, B, Q, R, D, rho = p["A"], p["B"], p["Q"], p["R"], p["D"], p["discount"]
    d = A.shape[0]
    scale = np.abs(Q).max() + np.abs(sol.P).max() ** 2
    assert np.abs(_are_residual(A, B, Q, R, sol.P, rho)).max() < 1e-10 * scale
    np.testing.assert_allclose(sol.P, sol.P.T, atol=0)
    assert np.linalg.eigvalsh(sol.P).min() > 0  # Q ≻ 0 makes P ≻ 0
    # The stabilising solution, computed independently from the Hamiltonian matrix.
    np.testing.assert_allclose(sol.P, _riccati_by_hamiltonian(A, B, Q, R, rho), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sol.K, np.linalg.inv(R) @ B.T @ sol.P, rtol=1e-10, atol=1e-14)
    closed = A - B @ sol.K
    # Stabilising for the discounted ARE: A − ρ/2 I − BK Hurwitz; for these examples A − BK is too.
    assert np.linalg.eigvals(closed - 0.5 * rho * np.eye(d)).real.max() < 0
    assert np.linalg.eigvals(closed).real.max() < 0
    assert sol.c == pytest.approx(np.trace(D.T @ sol.P @ D) / (2 * rho), rel=1e-12)
    # The solution of the StochasticLQR problem object is the same one.
    problem = StochasticLQR(**p)
    np.testing.assert_allclose(lqr_solution(problem).P, sol.P, rtol=1e-12)


def test_riccati_rejects_non_positive_discount():
    with pytest.raises(ProblemError, match="discount"):
        discounted_riccati(-0.5, 1.0, 1.0, 0.1, 0.3, 0.0)


# ---------------------------------------------------------------- Merton (MATH.md §3)

SEED_MERTON = dict(r_f=0.03, mu=0.08, sigma=0.20, gamma=2.0, discount=0.05)


def _merton_by_hand(r_f, mu, sigma, gamma, discount):
    pi = (mu - r_f) / (gamma * sigma**2)
    M = r_f + (mu - r_f) ** 2 / (2 * gamma * sigma**2)
    gap = discount - (1 - gamma) * M
    return pi, M, gap / gamma, (gamma / gap) ** gamma


def test_seed_merton_values():
    pi, M, k, A = _merton_by_hand(**SEED_MERTON)
    assert pi == pytest.approx(0.625, abs=1e-15)
    assert M == pytest.approx(0.045625, abs=1e-15)
    assert k == pytest.approx(0.0478125, abs=1e-15)
    assert A == pytest.approx(437.438592, abs=1e-6)
    sol = merton_closed_form(**SEED_MERTON)
    assert (sol.pi, sol.k, sol.A, sol.gamma) == pytest.approx((pi, k, A, 2.0), rel=1e-14)
    assert merton_solution(Merton(**SEED_MERTON)).A == pytest.approx(A, rel=1e-14)
    x = np.array([[0.5], [1.0], [4.0]])
    np.testing.assert_allclose(sol.value(x), -437.438592 / x[:, 0], rtol=1e-8)
    np.testing.assert_allclose(sol.policy(x), np.tile([0.625, 0.0478125], (3, 1)), rtol=1e-14)


def _merton_hamiltonian_grid(p, A, x, pis, ks):
    """r + L^{(π,k)} V at wealth x on the grid pis × ks for V = A x^{1−γ}/(1−γ), in plain numpy."""
    r_f, mu, sigma, gamma = p["r_f"], p["mu"], p["sigma"], p["gamma"]
    dv = A * x ** (-gamma)
    d2v = -gamma * A * x ** (-gamma - 1)
    P, K = np.meshgrid(pis, ks, indexing="ij")
    reward = (K * x) ** (1 - gamma) / (1 - gamma)
    return reward + dv * (r_f + P * (mu - r_f) - K) * x + 0.5 * (P * sigma * x) ** 2 * d2v


@pytest.mark.parametrize("p", [SEED_MERTON, dict(r_f=0.02, mu=0.07, sigma=0.25, gamma=0.5, discount=0.08)],
                         ids=["seed", "gamma<1"])
def test_merton_hjb_by_brute_force_maximisation(p):
    """ρV(x) = max_{π,k} {r + L V} on a fine (π, k) grid, the argmax within one cell of (π*, k*)."""
    pi_s, _, k_s, A = _merton_by_hand(**p)
    gamma, sigma, rho = p["gamma"], p["sigma"], p["discount"]
    pis = np.linspace(pi_s - 0.5, pi_s + 0.5, 1001) + 1.7e-4  # offset: the optimum is not a grid node
    ks = np.linspace(0.5 * k_s, 1.5 * k_s, 1001) + 1.3e-6
    dpi, dk = pis[1] - pis[0], ks[1] - ks[0]
    for x in (0.6, 1.0, 3.7):
        V = A * x ** (1 - gamma) / (1 - gamma)
        H = _merton_hamiltonian_grid(p, A, x, pis, ks)
        i, j = np.unravel_index(np.argmax(H), H.shape)
        # Max over a grid with spacing h misses the true max by at most ½|H''|(h/2)² per (separable) axis;
        # the k-curvature is bounded on the grid by its value at the smallest k.
        h_pipi = (sigma * x) ** 2 * gamma * A * x ** (-gamma - 1)
        h_kk = gamma * x**2 * (ks[0] * x) ** (-gamma - 1)
        bound = 0.5 * h_pipi * (dpi / 2) ** 2 + 0.5 * h_kk * (dk / 2) ** 2
        assert H.max() <= rho * V + 1e-12 * abs(rho * V)  # nothing beats the closed form
        assert rho * V - H.max() <= bound + 1e-12 * abs(rho * V)
        assert abs(pis[i] - pi_s) <= dpi and abs(ks[j] - k_s) <= dk
        # Negative control: a value 1% off does not satisfy the HJB to within the grid error.
        V_bad, H_bad = 1.01 * V, _merton_hamiltonian_grid(p, 1.01 * A, x, pis, ks)
        assert abs(rho * V_bad - H_bad.max()) > 100 * bound


@pytest.mark.parametrize("build", [merton_closed_form, Merton], ids=["closed_form", "problem"])
def test_infeasible_merton_raises(build):
    p = dict(r_f=0.03, mu=0.08, sigma=0.20, gamma=0.5, discount=0.01)
    # ρ − (1−γ)M = 0.01 − 0.5·0.0925 < 0: lifetime utility is infinite.
    assert p["discount"] - (1 - p["gamma"]) * _merton_by_hand(**p)[1] < 0
    with pytest.raises(ProblemError, match="infeasible"):
        build(**p)


@pytest.mark.parametrize(
    "change, word",
    [(dict(sigma=0.0), "sigma"), (dict(gamma=1.0), "gamma"), (dict(gamma=-1.0), "gamma"),
     (dict(discount=0.0), "discount"), (dict(mu=float("nan")), "mu")],
)
def test_merton_parameter_validation(change, word):
    with pytest.raises(ProblemError, match=word):
        merton_closed_form(**{**SEED_MERTON, **change})
