"""References with bounded actions: the finite-difference bounded 1-D LQR and Merton with a capped π,
each against a computation that does not share its method."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from hjb.errors import ProblemError
from hjb.pdes import Merton, seed_lqr
from hjb.validation.bounded_lqr import bounded_lqr_solution
from hjb.validation.merton import merton_closed_form, merton_solution
from hjb.validation.riccati import lqr_solution
from hjb.validation.suites import lqr2d

SEED = dict(A=-0.5, B=1.0, Q=1.0, R=0.1, var=0.09, rho=0.1)  # seed_lqr(), D² = 0.09
BOX = np.linspace(-2.0, 2.0, 801)[:, None]


def _bounded_seed(low: float, high: float):
    problem = seed_lqr()
    problem.action_bounds = (np.array([low]), np.array([high]))
    return problem


@pytest.fixture(scope="module")
def unit_bounds():
    """The seed LQR with |a| ≤ 1 (the unconstrained −Kx reaches 5.3 at x = 2) and its reference."""
    return bounded_lqr_solution(_bounded_seed(-1.0, 1.0))


# ---------------------------------------------------------------- bounded LQR


def test_inactive_bounds_reproduce_riccati():
    """Central differences are exact for the quadratic V; only the far upwind nodes and ends are not."""
    sol = bounded_lqr_solution(_bounded_seed(-1e3, 1e3))
    exact = lqr_solution(seed_lqr())
    scale = np.abs(exact.value(BOX)).max()
    assert np.abs(sol.value(BOX) - exact.value(BOX)).max() <= 1e-8 * scale
    assert np.abs(sol.policy(BOX) - exact.policy(BOX)).max() <= 1e-8 * scale
    assert sol.grid[-1] >= 2.0 + 20 * 0.3  # 20 stationary std of the saturated loop (κ = −A) beyond the box
    assert sol.reach <= 1e-12


def test_grid_convergence(unit_bounds):
    finer = bounded_lqr_solution(_bounded_seed(-1.0, 1.0), step=0.0005)
    scale = np.abs(finer.value(BOX)).max()
    assert np.abs(unit_bounds.value(BOX) - finer.value(BOX)).max() <= 1e-6 * scale  # measured 5.8e-8
    assert np.abs(unit_bounds.policy(BOX) - finer.policy(BOX)).max() <= 1e-5  # measured 6.3e-7


def test_policy_is_a_saturated_feedback(unit_bounds):
    a = unit_bounds.policy(BOX)[:, 0]
    x = BOX[:, 0]
    assert a.shape == (BOX.shape[0],) and np.all(np.abs(a) <= 1.0)
    np.testing.assert_allclose(a, -a[::-1], atol=1e-9)  # odd, like −Kx
    assert np.all(np.diff(a) <= 1e-12)  # non-increasing
    assert np.all(a[x >= 1.0] == -1.0) and np.all(a[x <= -1.0] == 1.0)  # saturated far out
    inner = np.abs(x) <= 0.1
    assert np.all(np.abs(a[inner]) < 1.0)  # linear near 0
    slope = np.polyfit(x[inner], a[inner], 1)[0]
    assert -2.0 * 2.66 < slope < -2.66  # steeper than the Riccati gain: the cap makes large |x| costlier
    # Constraining the action can only lose value.
    assert np.all(unit_bounds.value(BOX) <= lqr_solution(seed_lqr()).value(BOX) + 1e-12)


def _hjb_residual(value, low, high, x, delta=1e-3):
    """ρV − max_{a ∈ [lo, hi]} {r + (Ax + Ba)V′ + ½σ²V″}: 5-point differences, brute-force max over a grid of a."""
    p = SEED
    V = value(x)
    shifted = {j: value(x + j * delta) for j in (-2, -1, 1, 2)}
    dV = (-shifted[2] + 8 * shifted[1] - 8 * shifted[-1] + shifted[-2]) / (12 * delta)
    d2V = (-shifted[2] + 16 * shifted[1] - 30 * V + 16 * shifted[-1] - shifted[-2]) / (12 * delta**2)
    a = np.linspace(low, high, 20001)[None, :]
    x, dV, d2V = x[:, None], dV[:, None], d2V[:, None]
    H = -0.5 * (p["Q"] * x**2 + p["R"] * a**2) + (p["A"] * x + p["B"] * a) * dV + 0.5 * p["var"] * d2V
    return p["rho"] * V - H.max(axis=1)


@pytest.mark.parametrize("low, high", [(-1.0, 1.0), (-0.5, 2.0), (0.0, 1.0)])
def test_hjb_residual_by_separate_differences(low, high):
    sol = bounded_lqr_solution(_bounded_seed(low, high))
    x = np.linspace(-1.99, 1.99, 397) + 1.234e-4  # off the grid nodes
    residual = _hjb_residual(lambda y: sol.value(y[:, None]), low, high, x)
    scale = SEED["rho"] * np.abs(sol.value(x[:, None])).max()
    assert np.abs(residual).max() <= 1e-5 * scale  # measured ≤ 1.2e-6
    # Negative control: the unconstrained Riccati value violates the bounded HJB.
    exact = lqr_solution(seed_lqr())
    assert np.abs(_hjb_residual(lambda y: exact.value(y[:, None]), low, high, x)).max() > 1e-2 * scale


def _heun_paths(sol, x, dW, dt, table):
    """Σ discounted reward − (zero-mean Itô control variates) along stochastic Heun paths driven by dW (steps, n)."""
    p = SEED
    grid, a_tab, dV_tab, d2V_tab = table

    def reward_drift(y):
        a = np.interp(y, grid, a_tab)
        return -0.5 * (p["Q"] * y**2 + p["R"] * a**2), p["A"] * y + p["B"] * a

    total = np.zeros_like(x)
    r0, f0 = reward_drift(x)
    for k, dw in enumerate(dW):
        discount = np.exp(-p["rho"] * k * dt)
        # V′(X_k)dW and ½V″(X_k)(dW² − σ²dt) have mean exactly 0 whatever V is (X_k is known before dW): they
        # only cut the variance, so the estimate stays independent of the reference.
        ito = np.interp(x, grid, dV_tab) * dw + 0.5 * np.interp(x, grid, d2V_tab) * (dw**2 - p["var"] * dt)
        total -= discount * ito
        _, f_pred = reward_drift(x + f0 * dt + dw)
        x = x + 0.5 * (f0 + f_pred) * dt + dw
        r1, f1 = reward_drift(x)
        total += discount * 0.5 * dt * (r0 + np.exp(-p["rho"] * dt) * r1)
        r0, f0 = r1, f1
    # Tail beyond T = 100: weight e^{−ρT} = 4.5e-5, far below the standard error.
    return total + np.exp(-p["rho"] * len(dW) * dt) * sol.value(x[:, None])


def test_monte_carlo_value_of_the_reference_policy(unit_bounds):
    """E ∫e^{−ρt} r dt under the reference policy (Heun, weak order 2, Richardson in dt) = value(x) within 4 s.e."""
    starts, n, dt, horizon = np.array([0.0, 2.0]), 400, 0.02, 100.0
    grid = np.linspace(-6.0, 6.0, 12001)
    table = (grid, unit_bounds.policy(grid[:, None])[:, 0], unit_bounds.spline(grid, 1), unit_bounds.spline(grid, 2))
    rng = np.random.default_rng(0)
    dW = rng.standard_normal((int(round(horizon / dt)), starts.size * n)) * np.sqrt(SEED["var"] * dt)
    x0 = np.repeat(starts, n)
    fine = _heun_paths(unit_bounds, x0, dW, dt, table)
    coarse = _heun_paths(unit_bounds, x0, dW[0::2] + dW[1::2], 2 * dt, table)
    estimate = ((4 * fine - coarse) / 3).reshape(starts.size, n)
    mean, se = estimate.mean(axis=1), estimate.std(axis=1, ddof=1) / np.sqrt(n)
    z = (mean - unit_bounds.value(starts[:, None])) / se
    assert np.all(se <= 3e-4 * np.abs(mean))  # the check has teeth: 1e-3 of V would show
    assert np.all(np.abs(z) <= 4.0), f"z-scores {z}"


def test_bounded_lqr_rejects_other_problems(unit_bounds):
    with pytest.raises(ProblemError, match="1-D state and one action"):
        bounded_lqr_solution(lqr2d())
    with pytest.raises(ProblemError, match="StochasticLQR"):
        bounded_lqr_solution(Merton())
    with pytest.raises(ProblemError, match="smaller"):  # upwind nodes inside the box
        bounded_lqr_solution(_bounded_seed(-1e3, 1e3), step=0.05)
    with pytest.raises(ProblemError, match="outside the reference grid"):
        unit_bounds.value(np.array([[100.0]]))


# ---------------------------------------------------------------- Merton with bounds on π

SEED_MERTON = dict(r_f=0.03, mu=0.08, sigma=0.20, gamma=2.0, discount=0.05)
CAPPED = [
    (SEED_MERTON, ((0.0, 1e-4), (0.4, 2.0))),
    (dict(r_f=0.03, mu=0.08, sigma=0.20, gamma=3.0, discount=0.08), ((0.0, 1e-4), (0.3, 2.0))),
    (SEED_MERTON, ((0.8, 1e-4), (5.0, 2.0))),  # a floor above π* = 0.625
]


def test_unconstrained_bounds_reproduce_the_seed():
    sol = merton_solution(Merton())  # default bounds π ∈ [−5, 5], k ∈ [1e-4, 2]: inactive
    assert sol.pi == pytest.approx(0.625, abs=1e-14)
    assert sol.k == pytest.approx(0.0478125, abs=1e-14)
    assert sol.A == pytest.approx(437.438592, abs=1e-6)
    assert merton_closed_form(**SEED_MERTON) == sol


def _merton_hamiltonian(p, A, x, pi, k):
    """r + L^{(π,k)} V at wealth x for V = A x^{1−γ}/(1−γ), in plain numpy (π, k broadcast)."""
    r_f, mu, sigma, gamma = p["r_f"], p["mu"], p["sigma"], p["gamma"]
    dV, d2V = A * x ** (-gamma), -gamma * A * x ** (-gamma - 1)
    drift = (r_f + pi * (mu - r_f) - k) * x
    return (k * x) ** (1 - gamma) / (1 - gamma) + drift * dV + 0.5 * (pi * sigma * x) ** 2 * d2V


def _bounded_max(p, A, x, bounds):
    """max of the Hamiltonian over (π, k) in the bounds: a 401×2001 grid, then L-BFGS-B from its best node."""
    (pi_lo, k_lo), (pi_hi, k_hi) = bounds
    pis = np.linspace(pi_lo, pi_hi, 401)
    ks = np.geomspace(k_lo, k_hi, 2001)
    H = _merton_hamiltonian(p, A, x, pis[:, None], ks[None, :])
    i, j = np.unravel_index(np.argmax(H), H.shape)
    scale = abs(H[i, j])
    best = minimize(lambda v: -_merton_hamiltonian(p, A, x, v[0], v[1]) / scale, [pis[i], ks[j]],
                    method="L-BFGS-B", bounds=[(pi_lo, pi_hi), (k_lo, k_hi)], options={"ftol": 1e-15, "gtol": 1e-12})
    return max(H[i, j], -best.fun * scale), best.x


@pytest.mark.parametrize("p, bounds", CAPPED, ids=["seed_cap0.4", "gamma3_cap0.3", "seed_floor0.8"])
def test_capped_merton_solves_the_bounded_hjb(p, bounds):
    sol = merton_solution(Merton(**p, action_bounds=bounds))
    cap = bounds[1][0] if sol.pi < merton_closed_form(**p).pi else bounds[0][0]
    assert sol.pi == cap
    for x in (0.6, 1.0, 3.7):
        rhoV = p["discount"] * sol.value(np.array([[x]]))[0]
        H, argmax = _bounded_max(p, sol.A, x, bounds)
        assert abs(rhoV - H) <= 1e-9 * abs(rhoV)  # measured ≤ 1.2e-14
        assert argmax[0] == pytest.approx(cap, abs=1e-8)
        assert argmax[1] == pytest.approx(sol.k, rel=1e-4)
        # Negative control: the unconstrained closed form does not satisfy the bounded HJB.
        free = merton_closed_form(**p)
        rhoV_free = p["discount"] * free.value(np.array([[x]]))[0]
        assert abs(rhoV_free - _bounded_max(p, free.A, x, bounds)[0]) > 1e-4 * abs(rhoV_free)


def test_consumption_outside_its_bounds_raises():
    with pytest.raises(ProblemError, match="k bounds"):
        merton_solution(Merton(action_bounds=((-5.0, 0.1), (5.0, 2.0))))  # k* = 0.0478 < 0.1
    with pytest.raises(ProblemError, match="k bounds"):
        merton_closed_form(**SEED_MERTON, k_bounds=(1e-4, 0.04))
    with pytest.raises(ProblemError, match="pi_bounds"):
        merton_closed_form(**SEED_MERTON, pi_bounds=(0.5, 0.1))


def test_infeasible_cap_raises():
    # γ = 2: ρ − (1−γ)M(π) = ρ + M(π) and M(5) = 0.03 + 0.25 − 2 < −ρ once π is floored at 5.
    with pytest.raises(ProblemError, match="infeasible"):
        merton_closed_form(**SEED_MERTON, pi_bounds=(5.0, 6.0))
