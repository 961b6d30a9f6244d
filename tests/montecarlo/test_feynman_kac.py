"""hjb.montecarlo.feynman_kac against closed-form values and the exact expectation of the Euler–Maruyama scheme.

For linear closed-loop dynamics X_{j+1} = (I + F dt) X_j + Σ ΔW_j and a quadratic reward and tail, the
expectation of the discretised estimator Σ_j e^{−ρ t_j} r(X_j) dt + e^{−ρT} g(X_N) is computable exactly from
the mean/covariance recursion. That gives (i) the exact target of the Monte Carlo mean (checked within 4 standard
errors) and (ii) the exact time-step bias of the scheme, which justifies the bias allowance against the
continuous-time value (Richardson's 2·V_{dt/2} − V_dt leaves O(dt²)).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hjb.geometry import Box
from hjb.montecarlo.feynman_kac import feynman_kac
from hjb.pdes import ControlProblem, StochasticLQR, seed_lqr
from hjb.validation.riccati import lqr_solution

F64 = torch.float64


def _discrete_expectation(x0, F, Sigma, rho, dt, steps, W, w, tail=None):
    """E of the Euler estimator with reward r(x) = −½xᵀWx + w·x and tail g = −½xᵀPx + p·x − c (tail=(P, p, c))."""
    x0 = np.asarray(x0, dtype=float)
    d = x0.shape[1]
    G = np.eye(d) + F * dt
    C = Sigma @ Sigma.T * dt
    m, S = x0.copy(), np.zeros((d, d))
    total, t = np.zeros(len(x0)), 0.0
    for _ in range(steps):
        Er = -0.5 * (np.einsum("ni,ij,nj->n", m, W, m) + np.trace(W @ S)) + m @ w
        total += np.exp(-rho * t) * Er * dt
        m, S = m @ G.T, G @ S @ G.T + C
        t += dt
    if tail is not None:
        P, p, c = tail
        total += np.exp(-rho * t) * (-0.5 * (np.einsum("ni,ij,nj->n", m, P, m) + np.trace(P @ S)) + m @ p - c)
    return total


def _richardson_expectation(x0, F, Sigma, rho, dt, horizon, W, w, tail=None):
    steps = int(round(horizon / dt))
    coarse = _discrete_expectation(x0, F, Sigma, rho, dt, steps, W, w, tail)
    fine = _discrete_expectation(x0, F, Sigma, rho, dt / 2, 2 * steps, W, w, tail)
    return 2 * fine - coarse, coarse


# ---------------------------------------------------------------- LQR under its optimal policy


def _lqr_pieces(problem):
    sol = lqr_solution(problem)
    Kt, Pt = (torch.as_tensor(M, dtype=F64) for M in (sol.K, sol.P))

    def policy(x):
        return -x @ Kt.T

    def tail(x):
        return -0.5 * ((x @ Pt) * x).sum(-1) - sol.c

    def gradient(x):
        return -x @ Pt

    F = problem.A - problem.B @ sol.K
    W = problem.Q + sol.K.T @ problem.R @ sol.K  # r(x, −Kx) = −½xᵀ(Q + KᵀRK)x
    d = problem.state_dim
    return sol, policy, tail, gradient, F, W, (sol.P, np.zeros(d), sol.c)


def _lqr_2d():
    return StochasticLQR(
        A=[[-0.5, 0.4], [-0.3, -0.8]], B=[[1.0, 0.2], [0.0, 0.7]], Q=np.eye(2), R=np.diag([0.2, 0.1]),
        D=[[0.3, 0.1], [0.0, 0.25]], discount=0.1,
    )


@pytest.mark.parametrize(
    "build, x0",
    [(seed_lqr, [[-1.0], [0.0], [1.5]]), (_lqr_2d, [[0.8, -0.5], [0.0, 0.0], [-1.2, 1.0]])],
    ids=["seed1d", "2d"],
)
def test_lqr_optimal_policy_value(build, x0):
    problem = build()
    x0 = np.asarray(x0)
    sol, policy, tail, _, F, W, tail_q = _lqr_pieces(problem)
    horizon, dt = 1.0, 0.02
    exact = sol.value(x0)
    est = feynman_kac(problem, policy, x0, paths=2500, horizon=horizon, dt=dt, tail=tail, seed=1)
    assert est.mean.shape == (3,) and est.stderr.shape == (3,)
    assert np.all(est.stderr > 0)
    rich, euler = _richardson_expectation(x0, F, problem.D, problem.discount, dt, horizon, W, np.zeros(len(F)), tail_q)
    bias = np.abs(rich - exact)
    # Richardson removes the O(dt) weak error: what is left is far below the Euler bias and below 1e-3.
    assert np.all(bias < 1e-3)
    assert np.all(bias <= 0.1 * np.abs(euler - exact) + 1e-6)
    assert np.all(np.abs(est.mean - exact) <= 4 * est.stderr + bias)
    # Sharper: the Monte Carlo mean estimates exactly the expectation of the Richardson-combined scheme.
    assert np.all(np.abs(est.mean - rich) <= 4 * est.stderr)
    # The estimate is not vacuous: the standard error resolves the value well.
    assert np.all(est.stderr < 0.01 * np.abs(exact))


def test_lqr_control_variate_cuts_the_standard_error():
    problem = seed_lqr()
    sol, policy, tail, gradient, F, W, tail_q = _lqr_pieces(problem)
    x0 = np.array([[-1.0], [0.5], [1.5]])
    kw = dict(paths=2000, horizon=1.0, dt=0.01, tail=tail, seed=3)
    plain = feynman_kac(problem, policy, x0, **kw)
    cv = feynman_kac(problem, policy, x0, gradient=gradient, **kw)
    assert np.all(cv.stderr * 5 <= plain.stderr)
    # The control variate has mean zero: the controlled mean targets the same discrete expectation.
    rich, _ = _richardson_expectation(x0, F, problem.D, problem.discount, 0.01, 1.0, W, np.zeros(1), tail_q)
    assert np.all(np.abs(cv.mean - rich) <= 4 * cv.stderr)
    assert np.all(np.abs(cv.mean - sol.value(x0)) <= 4 * cv.stderr + np.abs(rich - sol.value(x0)))


def test_lqr_without_richardson_shows_the_euler_bias():
    """With richardson=False the mean is the plain Euler expectation, whose O(dt) bias the tight (controlled)
    standard error resolves; it is larger than Richardson's by an order of magnitude."""
    problem = seed_lqr()
    sol, policy, tail, gradient, F, W, tail_q = _lqr_pieces(problem)
    x0 = np.array([[-1.0], [1.5]])
    est = feynman_kac(problem, policy, x0, paths=2000, horizon=1.0, dt=0.02, tail=tail, gradient=gradient,
                      seed=5, richardson=False)
    rich, euler = _richardson_expectation(x0, F, problem.D, problem.discount, 0.02, 1.0, W, np.zeros(1), tail_q)
    assert np.all(np.abs(est.mean - euler) <= 4 * est.stderr)
    assert np.all(np.abs(est.mean - sol.value(x0)) > 10 * est.stderr)  # the bias is visible
    assert np.all(np.abs(euler - sol.value(x0)) > 10 * np.abs(rich - sol.value(x0)))


def test_feynman_kac_is_deterministic_per_seed():
    problem = seed_lqr()
    _, policy, tail, _, *_ = _lqr_pieces(problem)
    x0 = np.array([[0.7]])
    kw = dict(paths=500, horizon=0.5, dt=0.05, tail=tail)
    a = feynman_kac(problem, policy, x0, seed=9, **kw)
    b = feynman_kac(problem, policy, x0, seed=9, **kw)
    c = feynman_kac(problem, policy, x0, seed=10, **kw)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.stderr, b.stderr)
    assert a.mean[0] != c.mean[0]
    assert abs(a.mean[0] - c.mean[0]) < 4 * np.hypot(a.stderr[0], c.stderr[0])


def test_a_path_is_the_same_whatever_the_number_of_paths():
    """Common random numbers: path j's noise depends on (seed, j) only. The samples' sum and sum of squares
    follow from mean and standard error; n + 1 paths must add exactly one sample to the n paths' sums, within a
    block of 64 paths and across two."""
    problem = seed_lqr()
    _, policy, tail, _, *_ = _lqr_pieces(problem)
    x0 = np.array([[0.7], [-0.3]])

    def sums(paths):
        e = feynman_kac(problem, policy, x0, paths=paths, horizon=0.5, dt=0.05, tail=tail, seed=11)
        variance = e.stderr**2 * paths
        return paths * e.mean, (paths - 1) * variance + paths * e.mean**2

    for n in (2, 63, 64):
        (s1, q1), (s2, q2), (s3, q3) = sums(n), sums(n + 1), sums(n + 2)
        new1, new2 = s2 - s1, s3 - s2  # sample n, sample n + 1
        np.testing.assert_allclose(q2, q1 + new1**2, rtol=1e-9)
        np.testing.assert_allclose(q3, q2 + new2**2, rtol=1e-9)
        assert np.all(np.abs(new1 - new2) > 1e-6)



# ---------------------------------------------------------------- an uncontrolled OU process (d = 1, k = 2)

THETA, SIG1, SIG2, RHO = 1.0, 0.4, 0.3, 0.5


def _ou_problem() -> ControlProblem:
    """dX = −θX dt + σ₁dW₁ + σ₂dW₂, reward r = −x² + x; the action has no effect."""
    Sig = torch.tensor([[[SIG1, SIG2]]], dtype=F64)

    return ControlProblem(
        name="ou",
        drift=lambda x, a: -THETA * x + 0.0 * a,
        diffusion=lambda x, a: Sig.expand(x.shape[0], 1, 2),
        reward=lambda x, a: -(x**2) + x,
        discount=RHO,
        domain=Box(-4.0, 4.0),
        action_dim=1,
    )


def _ou_value(x, T=np.inf):
    """∫_0^T e^{−ρt} E[−X_t² + X_t] dt, E X_t = x e^{−θt}, Var X_t = s²(1 − e^{−2θt})/(2θ), s² = σ₁² + σ₂²."""
    s2 = SIG1**2 + SIG2**2

    def integral(rate):  # ∫_0^T e^{−rate t} dt
        return (1 - np.exp(-rate * T)) / rate

    return (-(x**2) * integral(RHO + 2 * THETA)
            - s2 / (2 * THETA) * (integral(RHO) - integral(RHO + 2 * THETA))
            + x * integral(RHO + THETA))


def _zero_policy(x):
    return torch.zeros(x.shape[0], 1, dtype=x.dtype)


def test_ou_finite_horizon_without_tail():
    problem = _ou_problem()
    x0 = np.array([[-1.0], [0.0], [2.0]])
    horizon, dt = 2.0, 0.02
    est = feynman_kac(problem, _zero_policy, x0, paths=4000, horizon=horizon, dt=dt, seed=2)
    exact = _ou_value(x0[:, 0], horizon)
    Sigma = np.array([[SIG1, SIG2]])
    rich, euler = _richardson_expectation(x0, np.array([[-THETA]]), Sigma, RHO, dt, horizon,
                                          np.array([[2.0]]), np.array([1.0]))
    bias = np.abs(rich - exact)
    assert np.all(bias < 1e-3) and np.all(bias < 0.1 * np.abs(euler - exact))
    assert np.all(np.abs(est.mean - rich) <= 4 * est.stderr)
    assert np.all(np.abs(est.mean - exact) <= 4 * est.stderr + bias)
    # Negative control: the infinite-horizon value is well outside the error bars (no tail was added).
    assert np.all(np.abs(est.mean - _ou_value(x0[:, 0])) > 5 * est.stderr)


def test_ou_infinite_horizon_with_exact_tail_and_noise_dim():
    problem = _ou_problem()
    x0 = np.array([[-1.5], [0.5]])

    def tail(x):
        return torch.as_tensor(_ou_value(x[:, 0].numpy()), dtype=F64)

    def gradient(x):  # d/dx of the infinite-horizon value
        return -2 * x / (RHO + 2 * THETA) + 1 / (RHO + THETA)

    kw = dict(paths=3000, horizon=1.0, dt=0.02, tail=tail, seed=4)
    est = feynman_kac(problem, _zero_policy, x0, **kw)
    est_k = feynman_kac(problem, _zero_policy, x0, noise_dim=2, **kw)  # k given instead of inferred
    np.testing.assert_array_equal(est.mean, est_k.mean)
    exact = _ou_value(x0[:, 0])
    s2 = SIG1**2 + SIG2**2
    tail_q = (np.array([[2 / (RHO + 2 * THETA)]]), np.array([1 / (RHO + THETA)]), s2 / (RHO * (RHO + 2 * THETA)))
    rich, _ = _richardson_expectation(x0, np.array([[-THETA]]), np.array([[SIG1, SIG2]]), RHO, 0.02, 1.0,
                                      np.array([[2.0]]), np.array([1.0]), tail_q)
    bias = np.abs(rich - exact)
    assert np.all(bias < 1e-3)
    assert np.all(np.abs(est.mean - exact) <= 4 * est.stderr + bias)
    cv = feynman_kac(problem, _zero_policy, x0, gradient=gradient, **kw)
    assert np.all(cv.stderr * 5 <= est.stderr)
    assert np.all(np.abs(cv.mean - rich) <= 4 * cv.stderr)


def test_richardson_levels_share_their_brownian_paths():
    """dt and dt/2 run on the same Brownian increments, so 2·V_{dt/2} − V_dt is barely noisier than V_{dt/2}
    alone (independent levels would multiply the variance by about 5)."""
    problem = seed_lqr()
    _, policy, tail, *_ = _lqr_pieces(problem)
    x0 = np.array([[-1.0], [1.5]])
    kw = dict(paths=2000, horizon=1.0, dt=0.02, tail=tail, seed=6)
    rich = feynman_kac(problem, policy, x0, **kw)
    plain = feynman_kac(problem, policy, x0, richardson=False, **kw)
    assert np.all(rich.stderr < 1.3 * plain.stderr)


def test_policy_and_tail_see_the_state_clipped_into_the_box():
    """Deterministic drift 1 out of [0, 1] from x = 0.5: reward a = α(clip x) = min(x, 1), tail clip(x) = 1.
    The Euler sums are exact to compute by hand; with no noise the standard error is 0."""
    rho, dt, horizon = 0.3, 0.1, 1.0
    problem = ControlProblem(
        name="ramp",
        drift=lambda x, a: torch.ones_like(x),
        diffusion=lambda x, a: torch.zeros(x.shape[0], 1, 1, dtype=x.dtype),
        reward=lambda x, a: a,
        discount=rho,
        domain=Box(0.0, 1.0),
        action_dim=1,
    )

    def by_hand(h):
        n = int(round(horizon / h))
        t = np.arange(n) * h
        return np.sum(np.exp(-rho * t) * np.minimum(0.5 + t, 1.0) * h) + np.exp(-rho * horizon) * 1.0

    est = feynman_kac(problem, lambda x: x.clone(), np.array([[0.5]]), paths=4, horizon=horizon, dt=dt,
                      tail=lambda x: x[:, 0], seed=0)
    assert est.mean[0] == pytest.approx(2 * by_hand(dt / 2) - by_hand(dt), rel=1e-12)
    assert est.stderr[0] == 0.0
    # Unclipped, the tail alone would be e^{−ρ}·1.5: the clip changes the answer by a visible amount.
    assert abs(est.mean[0] - (2 * by_hand(dt / 2) - by_hand(dt) + 0.5 * np.exp(-rho))) > 0.3


def test_second_order_control_variate_is_unbiased_and_cuts_the_noise_further():
    """With (∇V, ∇²V) the quadratic-variation noise of V along the path cancels too (seed LQR, optimal policy)."""
    problem = seed_lqr()
    sol = lqr_solution(problem)
    K = torch.as_tensor(sol.K, dtype=F64)
    P = torch.as_tensor(sol.P, dtype=F64)

    def policy(x):
        return -x @ K.T

    def tail(x):
        return torch.as_tensor(sol.value(x.numpy()), dtype=F64)

    def first(x):
        return -x @ P

    def second(x):
        return -x @ P, -P.expand(x.shape[0], 1, 1)

    x0 = np.array([[-1.5], [0.0], [1.0]])
    kw = dict(paths=512, horizon=2.0, dt=0.02, tail=tail, noise_dim=1, seed=3)
    one = feynman_kac(problem, policy, x0, gradient=first, **kw)
    two = feynman_kac(problem, policy, x0, gradient=second, **kw)
    assert np.all(two.stderr < one.stderr / 3)
    exact = sol.value(x0)
    assert np.all(np.abs(two.mean - exact) < 4 * two.stderr + 2e-4)


# ---------------------------------------------------------------- outside the box: continuation, log steps


def _derivatives(V, c):
    """∇V (n, d), ∇²V (n, d, d) at c by autograd."""
    cg = c.clone().requires_grad_(True)
    g = torch.autograd.grad(V(cg).sum(), cg, create_graph=True)[0]
    H = torch.stack([torch.autograd.grad(g[:, i].sum(), cg, retain_graph=True)[0] for i in range(c.shape[1])], 1)
    return g.detach(), H.detach()


def _in_log_coordinates(V, x):
    """V_u (n, d), V_uu (n, d, d) at x of u ↦ V(e^u), by autograd in u."""
    return _derivatives(lambda u: V(torch.exp(u)), torch.log(x))


def test_linear_box_continuation_is_the_taylor_polynomial():
    from hjb.montecarlo.feynman_kac import box_derivatives, continuation

    def V(x):  # not a polynomial, with a cross term
        return torch.sqrt(x[:, 0]) * x[:, 1] ** 0.3 + torch.sin(x[:, 0] * x[:, 1])

    c = torch.tensor([[1.0, 2.0], [3.0, 0.5]], dtype=F64)
    x = torch.tensor([[4.0, 0.1], [3.0, 7.0]], dtype=F64)
    g, H = _derivatives(V, c)
    poly = lambda y: (g * (y - c)).sum(-1) + 0.5 * torch.einsum("ni,nij,nj->n", y - c, H, y - c)  # noqa: E731
    gx, Hx = _derivatives(poly, x)
    dV, d2V = box_derivatives(x, c, False, g, H)
    torch.testing.assert_close(dV, gx, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(d2V, Hx, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(continuation(x, c, False, g, H), poly(x), rtol=1e-12, atol=1e-12)


def test_log_box_continuation_is_exact_for_power_laws():
    """V = 3 + 2·x₁^0.5 − x₂^{−1.5} (separable power laws, as CRRA values are): from the derivatives at the
    clipped state, V_u, V_uu and V(x) − V(c) far outside the box are V's own (the Taylor polynomial in log x is
    off by 40% at Δu = 2)."""
    from hjb.montecarlo.feynman_kac import box_derivatives, continuation

    def V(x):
        return 3.0 + 2.0 * x[:, 0] ** 0.5 - x[:, 1] ** -1.5

    c = torch.tensor([[12.5, 0.2], [0.2, 12.5], [1.0, 1.0]], dtype=F64)
    x = torch.tensor([[100.0, 0.01], [0.003, 90.0], [1.0, 1.0]], dtype=F64)
    g, H = _derivatives(V, c)
    Vu, Vuu = box_derivatives(x, c, True, g, H)
    exact_u, exact_uu = _in_log_coordinates(V, x)
    torch.testing.assert_close(Vu, exact_u, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(Vuu, exact_uu, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(continuation(x, c, True, g, H), V(x) - V(c), rtol=1e-12, atol=1e-12)


def test_log_box_continuation_inside_the_box_and_its_guards():
    """At x = c: V's own derivatives in u for any V, no continuation. The exponent is capped at
    POWER_LAW_EXPONENT (V = x⁶ continues as x⁴'s growth); V_u = 0 continues flat; first order holds V_u."""
    from hjb.montecarlo.feynman_kac import POWER_LAW_EXPONENT, box_derivatives, continuation

    def V(x):
        return torch.sqrt(x[:, 0]) * x[:, 1] ** 0.3 + torch.sin(x[:, 0] * x[:, 1])

    c = torch.tensor([[1.0, 2.0], [3.0, 0.5]], dtype=F64)
    g, H = _derivatives(V, c)
    Vu, Vuu = box_derivatives(c, c, True, g, H)
    exact_u, exact_uu = _in_log_coordinates(V, c)
    torch.testing.assert_close(Vu, exact_u, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(Vuu, exact_uu, rtol=1e-12, atol=1e-12)
    assert torch.all(continuation(c, c, True, g, H) == 0)

    c1, x1 = torch.tensor([[2.0]], dtype=F64), torch.tensor([[2.0 * np.e]], dtype=F64)
    g6, H6 = _derivatives(lambda y: y[:, 0] ** 6, c1)
    assert box_derivatives(x1, c1, True, g6, H6)[0].item() == pytest.approx(6 * 2.0**6 * np.exp(POWER_LAW_EXPONENT))
    flat = torch.zeros(1, 1, dtype=F64)
    assert box_derivatives(x1, c1, True, flat, flat.unsqueeze(-1))[0].item() == 0.0
    half = torch.tensor([[0.5]], dtype=F64)
    assert box_derivatives(x1, c1, False, half, None)[0].item() == 0.5  # constant ∇V in x
    assert box_derivatives(x1, c1, True, half, None)[0].item() == pytest.approx(0.5 * 2.0)  # constant V_u
    assert continuation(x1, c1, True, half, None).item() == pytest.approx(1.0)  # V_u·Δu


def _gbm_problem(pi: float, k: float, gamma: float = 0.5, discount: float = 0.1):
    from hjb.pdes import Merton

    problem = Merton(gamma=gamma, discount=discount)
    action = torch.tensor([[pi, k]], dtype=F64)
    return problem, (lambda x: action.expand(x.shape[0], 2))


def _decay(problem, pi, k):
    """e^{−ρt} E (X_t)^{1−γ} = x^{1−γ} e^{−δt}: δ = ρ − (1−γ)m + ½γ(1−γ)π²σ², m = r_f + π(μ − r_f) − k."""
    g = problem.gamma
    m = problem.r_f + pi * (problem.mu - problem.r_f) - k
    return problem.discount - (1 - g) * m + 0.5 * g * (1 - g) * (pi * problem.sigma) ** 2


def _constant_policy_value(problem, pi, k, x):
    """V^α = (kx)^{1−γ} / ((1−γ) δ) for a constant action (π, k)."""
    return (k * x) ** (1 - problem.gamma) / ((1 - problem.gamma) * _decay(problem, pi, k))


def test_log_box_paths_stay_positive_and_match_the_closed_form():
    """Merton (γ = 0.5) under a constant action with volatility πσ = 1 and dt = 0.5: an Euler step in x crosses
    zero with probability Φ(−1.4) ≈ 8% (and wealth then stays negative, earning nothing); the step in log x is
    exact for this geometric Brownian motion, so the estimate matches V^α up to the truncated horizon."""
    pi, k, horizon = 5.0, 0.3, 40.0
    problem, policy = _gbm_problem(pi, k)
    x0 = np.array([[0.5], [2.0], [10.0]])
    est = feynman_kac(problem, policy, x0, paths=4000, horizon=horizon, dt=0.5, seed=7)
    exact = _constant_policy_value(problem, pi, k, x0[:, 0])
    truncation = exact * np.exp(-_decay(problem, pi, k) * horizon)  # E ∫_T^∞ e^{−ρt} r dt
    assert np.all(np.abs(est.mean - exact) <= 4 * est.stderr + truncation + 2e-3 * exact)
    assert np.all(est.stderr < 0.02 * exact)


def test_log_box_control_variate_outside_the_box_cuts_the_noise():
    """The same GBM with the exact ∇V, ∇²V given inside the box only: continuing them outside as a power law in
    x keeps the control variate working where most paths are (πσ = 1 leaves the box fast), and the estimate is
    the closed form within its standard error (the tail too is continued, not taken at the clipped state).
    (Frozen at the clipped state instead, ∇V·Σ(x)ΔW grows like x: measured 2–70× the plain standard error
    here; continued by the Taylor polynomial in log x, 0.4–0.6× of it; as a power law, 1/190 of it.)"""
    pi, k = 5.0, 0.3
    problem, policy = _gbm_problem(pi, k)
    g = problem.gamma
    A = _constant_policy_value(problem, pi, k, 1.0)

    def tail(x):
        return A * x[:, 0] ** (1 - g)

    def derivatives(x):
        return (A * (1 - g) * x ** (-g), (-g * A * (1 - g) * x ** (-g - 1)).unsqueeze(-1))

    x0 = np.array([[1.0], [5.0]])
    kw = dict(paths=2000, horizon=20.0, dt=0.05, tail=tail, seed=8)
    plain = feynman_kac(problem, policy, x0, **kw)
    cv = feynman_kac(problem, policy, x0, gradient=derivatives, **kw)
    assert np.all(cv.stderr * 50 <= plain.stderr)  # measured 190×
    assert np.all(np.abs(cv.mean - plain.mean) <= 4 * np.hypot(cv.stderr, plain.stderr))
    exact = tail(torch.as_tensor(x0)).numpy()  # V^α (the tail is exact, so no truncation error)
    assert np.all(np.abs(cv.mean - exact) <= 4 * cv.stderr)
