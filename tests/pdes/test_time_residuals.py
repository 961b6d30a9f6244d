"""Exact solutions fed into the time-dependent residuals give ≈ 0 in float64 (no training):
Fokker–Planck (1-D OU from a Gaussian; stationary law of the optimally controlled 2-D LQR) and the
log-density HJB of a diffusion model (Gaussian mixtures under VP noising)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.linalg import solve_continuous_are, solve_continuous_lyapunov

from hjb.geometry import Box
from hjb.pdes import ControlProblem, StochasticLQR
from hjb.pdes.data_laws import GaussianMixture
from hjb.pdes.diffusion_model import DiffusionModel, log_density_hjb_residual
from hjb.pdes.fokker_planck import (
    closed_loop,
    fokker_planck_residual,
    stationary_fokker_planck_residual,
)
from hjb.pdes.generator import space_time_derivatives
from hjb.pdes.noising import VPNoising

THETA, SIGMA, M0, V0 = 0.7, 0.5, 1.2, 0.3**2


def ou_problem() -> ControlProblem:
    """dX = −θX dt + σ dW (the action is ignored)."""
    return ControlProblem(
        name="ou", drift=lambda x, a: -THETA * x, diffusion=lambda x, a: torch.full((len(x), 1, 1), SIGMA, dtype=x.dtype),
        reward=lambda x, a: torch.zeros(len(x), 1, dtype=x.dtype), discount=1.0, domain=Box(-3.0, 3.0), action_dim=1,
    )


def ou_density(xt: torch.Tensor) -> torch.Tensor:
    """N(m_t, v_t): m_t = m0 e^{−θt}, v_t = v0 e^{−2θt} + σ²(1 − e^{−2θt})/(2θ)."""
    x, t = xt[:, :1], xt[:, 1:]
    m = M0 * torch.exp(-THETA * t)
    v = V0 * torch.exp(-2 * THETA * t) + SIGMA**2 * (1 - torch.exp(-2 * THETA * t)) / (2 * THETA)
    return torch.exp(-0.5 * (x - m) ** 2 / v) / torch.sqrt(2 * math.pi * v)


def _max(t: torch.Tensor) -> float:
    return float(t.detach().abs().max())


def _points(n, d, lo, hi, t1=None, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(lo, hi, size=(n, d))
    if t1 is not None:
        x = np.concatenate([x, rng.uniform(0.0, t1, size=(n, 1))], axis=1)
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("relative", [False, True])
def test_ou_gaussian_solves_fokker_planck(relative):
    problem = ou_problem()
    coefficients = closed_loop(problem, problem.initial_policy)
    xt = _points(200, 1, -3, 3, t1=1.0)
    p = ou_density(xt)
    residual = fokker_planck_residual(p, xt, coefficients, relative=relative)
    scale = _max(p) if not relative else 1.0
    assert _max(residual) / scale < 1e-12
    # A wrong density (variance off by 10 %) is not a solution.
    wrong = ou_density(torch.cat([xt[:, :1] * 1.05, xt[:, 1:]], dim=1))
    assert _max(fokker_planck_residual(wrong, xt, coefficients, relative=relative)) / scale > 1e-3


def _lqr2d():
    return StochasticLQR(A=[[-0.5, 0.4], [-0.3, -0.8]], B=[[1.0, 0.2], [0.0, 0.7]], Q=np.eye(2),
                         R=[[0.2, 0.0], [0.0, 0.1]], D=0.3 * np.eye(2), discount=0.1)


def test_stationary_law_of_optimal_lqr_solves_stationary_fokker_planck():
    problem = _lqr2d()
    shifted = problem.A - 0.05 * np.eye(2)
    P = solve_continuous_are(shifted, problem.B, problem.Q, problem.R)
    K = np.linalg.solve(problem.R, problem.B.T @ P)
    F = problem.A - problem.B @ K
    S = solve_continuous_lyapunov(F, -problem.D @ problem.D.T)
    Kt, Sinv = torch.tensor(K.T), torch.tensor(np.linalg.inv(S))
    coefficients = closed_loop(problem, lambda x: -x @ Kt)
    x = _points(200, 2, -1.0, 1.0)
    p = torch.exp(-0.5 * ((x @ Sinv) * x).sum(-1, keepdim=True)) / (2 * math.pi * math.sqrt(np.linalg.det(S)))
    residual = stationary_fokker_planck_residual(p, x, coefficients, relative=True)
    assert _max(residual) < 1e-10
    # The uncontrolled system's law is different: the same density is not stationary for it.
    residual0 = stationary_fokker_planck_residual(p, x, closed_loop(problem, problem.initial_policy), relative=True)
    assert _max(residual0) > 1e-2


WEIGHTS, MEANS, VARS = [0.3, 0.7], [-1.5, 1.0], [0.2**2, 0.4**2]
BETA0, BETA1, T = 0.5, 4.0, 2.0


def mixture_cost_to_go(xt: torch.Tensor) -> torch.Tensor:
    """V(x, t) = −log p_{T−t}(x), p_s = Σ w_i N(α_s m_i, α_s² v_i + 1 − α_s²), α_s = exp(−½∫_0^s β), written out."""
    x, t = xt[:, :1], xt[:, 1:]
    s = T - t
    alpha = torch.exp(-0.5 * (BETA0 * s + 0.5 * (BETA1 - BETA0) * s * s / T))
    terms = []
    for w, m, v in zip(WEIGHTS, MEANS, VARS, strict=True):
        var = alpha**2 * v + 1 - alpha**2
        terms.append(math.log(w) - 0.5 * torch.log(2 * math.pi * var) - 0.5 * (x - alpha * m) ** 2 / var)
    return -torch.logsumexp(torch.cat(terms, dim=1), dim=1, keepdim=True)


def _model_1d():
    data = GaussianMixture(WEIGHTS, [[m] for m in MEANS], [[[v]] for v in VARS])
    return DiffusionModel(data, VPNoising(BETA0, BETA1, T))


def test_mixture_log_density_solves_the_log_density_hjb():
    model = _model_1d()
    xt = _points(300, 1, -4, 4, t1=T)
    V = mixture_cost_to_go(xt)
    dVdt, dV, d2V = space_time_derivatives(V, xt)
    d = 1
    residual = log_density_hjb_residual(model, xt[:, :d], xt[:, d:], dVdt, dV, d2V)
    assert _max(residual) < 1e-10
    # Independent check of the formula: −∂tV − [−div μ + μ·∇V − ½|Σᵀ∇V|² + ½Tr(ΣΣᵀ∇²V)] written by hand.
    beta = BETA0 + (BETA1 - BETA0) * (T - xt[:, 1:]) / T
    by_hand = -dVdt - (-0.5 * beta + 0.5 * beta * xt[:, :1] * dV - 0.5 * beta * dV**2 + 0.5 * beta * d2V[:, :, 0])
    assert _max(by_hand) < 1e-10
    # The terminal condition is the data law's: V(x, T) = −log p_data(x).
    x = xt[:, :1].detach()
    terminal = mixture_cost_to_go(torch.cat([x, torch.full_like(x, T)], dim=1))
    assert torch.allclose(terminal, -model.terminal(x), atol=1e-12)


def test_wrong_schedule_breaks_the_residual():
    data = GaussianMixture(WEIGHTS, [[m] for m in MEANS], [[[v]] for v in VARS])
    model = DiffusionModel(data, VPNoising(BETA0, 2 * BETA1, T))
    xt = _points(100, 1, -3, 3, t1=T)
    dVdt, dV, d2V = space_time_derivatives(mixture_cost_to_go(xt), xt)
    assert _max(log_density_hjb_residual(model, xt[:, :1], xt[:, 1:], dVdt, dV, d2V)) > 1e-2


def test_2d_mixture_noised_law_solves_the_log_density_hjb():
    means = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
    cov = np.array([[[0.1, 0.03], [0.03, 0.2]]] * 4)
    data = GaussianMixture([0.1, 0.2, 0.3, 0.4], means, cov)
    noising = VPNoising(1.0, 1.0, 1.5)
    model = DiffusionModel(data, noising)
    for t in (0.2, 0.9, 1.4):  # exact marginals at fixed times: GaussianMixture.noised
        x = _points(100, 2, -3, 3, seed=int(10 * t))
        h = 1e-5
        def V_at(tt, xx):
            return -data.noised(float(noising.alpha(noising.horizon - tt))).log_density(xx)
        xt = torch.cat([x, torch.full((len(x), 1), t, dtype=torch.float64)], dim=1)
        V = V_at(t, x)
        dV = torch.autograd.grad(V.sum(), x, create_graph=True)[0]
        d2V = torch.stack([torch.autograd.grad(dV[:, i].sum(), x, retain_graph=True)[0] for i in range(2)], dim=1)
        dVdt = (V_at(t + h, x) - V_at(t - h, x)) / (2 * h)  # central difference in t (error ~1e-10)
        residual = log_density_hjb_residual(model, xt[:, :2], xt[:, 2:], dVdt.detach(), dV.detach(), d2V.detach())
        assert _max(residual) < 1e-6


def test_finite_horizon_lqr_value_solves_the_finite_horizon_hjb():
    from hjb.pdes.finite_horizon import FiniteHorizonProblem, finite_horizon_residual
    from hjb.validation.finite_lqr import FiniteHorizonRiccati

    A, B = np.array([[-0.5, 0.4], [-0.3, -0.8]]), np.array([[1.0, 0.2], [0.0, 0.7]])
    Q, R, D, G = np.eye(2), np.diag([0.2, 0.1]), 0.3 * np.eye(2), np.array([[2.0, 0.5], [0.5, 1.0]])
    At, Bt, Qt, Rt, Dt, Gt = (torch.tensor(np.ascontiguousarray(M)) for M in (A.T, B.T, Q, R, D, G))
    gain = torch.tensor(np.linalg.solve(R, B.T).T.copy())
    problem = FiniteHorizonProblem(
        name="lqr_T", horizon=1.5, domain=Box([-2.0, -2.0], [2.0, 2.0]), action_dim=2,
        drift=lambda x, a, t: x @ At + a @ Bt,
        diffusion=lambda x, a, t: Dt.expand(len(x), 2, 2),
        reward=lambda x, a, t: -0.5 * (((x @ Qt) * x).sum(-1, keepdim=True) + ((a @ Rt) * a).sum(-1, keepdim=True)),
        terminal=lambda x: -0.5 * ((x @ Gt) * x).sum(-1, keepdim=True),
        greedy_action=lambda x, t, dV, d2V: dV @ gain,
    )
    assert problem.check_shapes() == 2
    exact = FiniteHorizonRiccati(A, B, Q, R, D, G, horizon=1.5)
    rng = np.random.default_rng(3)
    x, t = rng.uniform(-2, 2, size=(100, 2)), rng.uniform(0, 1.5, size=100)
    P, dP = exact.P(t), exact.dPdt(t)
    dVdt = -0.5 * np.einsum("ni,nij,nj->n", x, dP, x) - exact.dcdt(t)
    dV = -np.einsum("nij,nj->ni", P, x)
    residual = finite_horizon_residual(
        problem, torch.tensor(x), torch.tensor(t[:, None]), torch.tensor(dVdt[:, None]), torch.tensor(dV), torch.tensor(-P),
    )
    assert _max(residual) < 1e-9
    # At any other action the Hamiltonian is smaller, so the residual of a fixed action is negative.
    other = finite_horizon_residual(problem, torch.tensor(x), torch.tensor(t[:, None]), torch.tensor(dVdt[:, None]),
                                    torch.tensor(dV), torch.tensor(-P), a=torch.zeros(100, 2, dtype=torch.float64))
    assert float(other.max()) < 0 and _max(other) > 1e-3
