"""Time-dependent control problems: discounted finite horizon, periodic (seed Appendix C) and deterministic. Each
closed form is fed into the problem's own HJB residual in float64 (and a wrong one is not zero), the periodic network
is periodic, and bad declarations are refused in one line."""
import numpy as np
import pytest
import torch

from hjb.errors import ProblemError
from hjb.geometry.box import Box
from hjb.geometry.spacetime import SpaceTime
from hjb.nn.value_network import PeriodicTime, ValueNetwork
from hjb.pdes.finite_horizon import finite_horizon_residual
from hjb.pdes.hopf_lax import hopf_lax
from hjb.pdes.periodic import PeriodicProblem
from hjb.pdes.timed_lqr import finite_horizon_lqr, periodic_lqr
from hjb.validation.finite_lqr import FiniteHorizonRiccati
from hjb.validation.hopf_lax import HopfLaxSolution
from hjb.validation.periodic_lqr import PeriodicRiccati

A, B = np.array([[-0.5, 0.4], [-0.3, -0.8]]), np.array([[1.0, 0.2], [0.0, 0.7]])
Q, R, G = np.eye(2), np.diag([0.2, 0.1]), np.array([[2.0, 0.5], [0.5, 1.0]])
SEED_LQR = dict(A=[[-0.5]], B=[[1.0]], Q=[[1.0]], R=[[0.1]], D=[[0.3]], discount=0.1, period=1.0, amplitude=0.5)


def _lqr_residual(problem, P, dP, c, dc, x, t):
    """The problem's HJB residual at V = −½xᵀPx − c, from P (n, d, d), P' and c (n,), c' at x (n, d), t (n,)."""
    V = -0.5 * np.einsum("ni,nij,nj->n", x, P, x) - c
    dVdt = -0.5 * np.einsum("ni,nij,nj->n", x, dP, x) - dc
    dV = -np.einsum("nij,nj->ni", P, x)
    return finite_horizon_residual(problem, *(torch.tensor(a) for a in (x, t[:, None], dVdt[:, None], dV, -P)),
                                   value=torch.tensor(V[:, None]))


def test_discounted_finite_horizon_lqr_value_zeroes_its_residual():
    D, rho, T = 0.3 * np.eye(2), 0.4, 1.5
    problem = finite_horizon_lqr(A, B, Q, R, D, G, T, discount=rho)
    exact = FiniteHorizonRiccati(A, B, Q, R, D, G, horizon=T, discount=rho)
    rng = np.random.default_rng(1)
    x, t = rng.uniform(-2, 2, size=(200, 2)), rng.uniform(0, T, size=200)
    residual = _lqr_residual(problem, exact.P(t), exact.dPdt(t), exact.c(t), exact.dcdt(t), x, t)
    assert float(residual.abs().max()) < 1e-9
    undiscounted = FiniteHorizonRiccati(A, B, Q, R, D, G, horizon=T)  # the ρ = 0 solution is not this problem's
    wrong = _lqr_residual(problem, undiscounted.P(t), undiscounted.dPdt(t), undiscounted.c(t), undiscounted.dcdt(t),
                          x, t)
    assert float(wrong.abs().max()) > 1e-2


def test_deterministic_lqr_is_the_riccati_solution_without_noise():
    problem = finite_horizon_lqr(A, B, Q, R, np.zeros((2, 1)), G, 1.0)
    assert problem.check_shapes() == 1
    exact = FiniteHorizonRiccati(A, B, Q, R, np.zeros((2, 1)), G, horizon=1.0)
    assert exact.c(0.0) == 0.0  # no noise, no constant
    rng = np.random.default_rng(2)
    x, t = rng.uniform(-2, 2, size=(200, 2)), rng.uniform(0, 1, size=200)
    residual = _lqr_residual(problem, exact.P(t), exact.dPdt(t), exact.c(t), exact.dcdt(t), x, t)
    assert float(residual.abs().max()) < 1e-9


@pytest.mark.parametrize("amplitude, rho", [(0.5, 0.1), (0.8, 1.0)])
def test_periodic_lqr_value_is_periodic_and_zeroes_its_residual(amplitude, rho):
    args = {**SEED_LQR, "amplitude": amplitude, "discount": rho}
    problem = periodic_lqr(**args)
    exact = PeriodicRiccati(args["A"], args["B"], args["Q"], args["R"], args["D"], rho, 1.0, amplitude)
    ends = np.array([0.0, 1.0])
    assert np.allclose(exact.riccati.P(ends)[0], exact.riccati.P(ends)[1], rtol=1e-10)
    assert abs(exact.c(ends)[0] - exact.c(ends)[1]) < 1e-10 * abs(exact.c(ends)[0])
    rng = np.random.default_rng(3)
    x, t = rng.uniform(-2, 2, size=(200, 1)), rng.uniform(0, 1, size=200)
    riccati, c = exact.riccati, exact.c(t)
    dc = riccati.dcdt(t) + rho * np.exp(-rho * (1.0 - t)) * exact.c_end  # d/dt of e^{−ρ(τ−t)} c(τ)
    residual = _lqr_residual(problem, riccati.P(t), riccati.dPdt(t), c, dc, x, t)
    assert float(residual.abs().max()) < 1e-9
    # The constant-weight (w ≡ 1) solution is not the periodic problem's.
    flat = PeriodicRiccati(args["A"], args["B"], args["Q"], args["R"], args["D"], rho, 1.0, 0.0)
    wrong = _lqr_residual(problem, flat.riccati.P(t), flat.riccati.dPdt(t), flat.c(t),
                          flat.riccati.dcdt(t) + rho * np.exp(-rho * (1.0 - t)) * flat.c_end, x, t)
    assert float(wrong.abs().max()) > 1e-2


def test_hopf_lax_value_solves_the_first_order_hjb_off_its_kink():
    problem, exact = hopf_lax(2, horizon=1.0, speed=0.7), HopfLaxSolution(1.0, speed=0.7)
    rng = np.random.default_rng(4)
    xt = np.c_[rng.uniform(-0.6, 0.6, size=(400, 2)), rng.uniform(0, 1, size=400)]
    xt = xt[np.abs(np.linalg.norm(xt[:, :2], axis=1) - 0.7 * (1 - xt[:, 2])) > 1e-3]
    xg = torch.tensor(xt, requires_grad=True)
    FLAT = torch.zeros(len(xt), 2, 2, dtype=torch.float64)  # Σ ≡ 0: the curvature term vanishes whatever ∇²V is
    radius = torch.linalg.vector_norm(xg[:, :2], dim=1, keepdim=True)
    V = -0.5 * torch.clamp(radius - 0.7 * (1 - xg[:, 2:]), min=0.0) ** 2
    grad = torch.autograd.grad(V.sum(), xg)[0]
    assert np.allclose(V[:, 0].detach().numpy(), exact.value(xt), atol=1e-14)
    residual = finite_horizon_residual(problem, xg[:, :2].detach(), xg[:, 2:].detach(), grad[:, 2:], grad[:, :2], FLAT)
    assert float(residual.abs().max()) < 1e-12
    outside = np.linalg.norm(xt[:, :2], axis=1) > 0.7 * (1 - xt[:, 2])
    assert outside.sum() > 80 and (~outside).sum() > 80
    # The closed-form optimal action attains the max: its Hamiltonian equals the greedy one.
    a = torch.tensor(exact.policy(xt))
    at_policy = finite_horizon_residual(problem, xg[:, :2].detach(), xg[:, 2:].detach(), grad[:, 2:], grad[:, :2],
                                        FLAT, a=a)
    assert float(at_policy.abs().max()) < 1e-12
    # g itself (V without the max over reachable points) is not a solution where |x| > 0.
    g_residual = finite_horizon_residual(problem, xg[:, :2].detach(), xg[:, 2:].detach(), torch.zeros(len(xt), 1),
                                         -xg[:, :2].detach(), FLAT)
    assert float(g_residual.abs().max()) > 0.5


def test_periodic_value_network_repeats_in_time():
    net = ValueNetwork(SpaceTime(Box([-1.0], [1.0]), 2.0), 16, 2, PeriodicTime(2.0, 3.0, 0.5))
    x = np.linspace(-1, 1, 7)[:, None]
    start, end, middle = (net.values(np.c_[x, np.full_like(x, t)]) for t in (0.0, 2.0, 1.0))
    assert np.allclose(start, end, atol=1e-12) and not np.allclose(start, middle, atol=1e-6)


@pytest.mark.parametrize("period, message", [(0.0, "period τ must be a positive number"),
                                             (-1.0, "period τ must be a positive number"),
                                             ("one", "period τ must be a positive number")])
def test_non_positive_period_is_refused(period, message):
    with pytest.raises(ProblemError, match=message):
        periodic_lqr(**{**SEED_LQR, "period": period})


def test_periodic_problem_needs_a_positive_discount_and_finite_horizon_a_non_negative_one():
    def zero(x, a, t):
        return torch.zeros(len(x), 1, dtype=x.dtype)

    with pytest.raises(ProblemError, match="needs a discount ρ > 0"):
        PeriodicProblem(name="p", drift=lambda x, a, t: a, diffusion=lambda x, a, t: torch.zeros(len(x), 1, 1),
                        reward=zero, discount=0.0, period=1.0, domain=Box(-1.0, 1.0), action_dim=1)
    with pytest.raises(ProblemError, match="discount ρ must be a number ≥ 0"):
        finite_horizon_lqr(A, B, Q, R, np.zeros((2, 1)), G, 1.0, discount=-0.1)


def test_a_problem_without_noise_says_it_is_deterministic():
    assert finite_horizon_lqr(A, B, Q, R, np.zeros((2, 1)), G, 1.0).deterministic
    assert hopf_lax(2).describe()["deterministic"] is True
    assert not finite_horizon_lqr(A, B, Q, R, 0.3 * np.eye(2), G, 1.0).deterministic
    assert not periodic_lqr(**SEED_LQR).describe()["deterministic"]
