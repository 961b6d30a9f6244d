"""hjb.pdes: generator and derivatives against finite differences, exact solutions in the residuals,
and the validation of problem declarations (MATH.md §1-3)."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from hjb.errors import ProblemError, ShapeError, UnknownNameError
from hjb.geometry import Box
from hjb.pdes import (
    ControlProblem,
    Merton,
    StochasticLQR,
    evaluation_residual,
    generator,
    greedy,
    hamiltonian,
    hjb_residual,
    seed_lqr,
    value_derivatives,
)
from hjb.validation.merton import merton_solution
from hjb.validation.riccati import discounted_riccati

F64 = torch.float64


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=float), dtype=F64)


# ---------------------------------------------------------------- a nonlinear test model (d = 2, k = 3)


def _phi(x: torch.Tensor) -> torch.Tensor:
    """A smooth non-polynomial test function (n, 1)."""
    x1, x2 = x[:, 0:1], x[:, 1:2]
    return torch.exp(-0.3 * (x1**2 + x2**2)) * torch.sin(x1 + 2.0 * x2) + torch.log(1.0 + x1**2) * torch.cos(x2)


def _drift(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x[:, 0:1], x[:, 1:2]
    return torch.cat([torch.sin(x1) + x2**2, x1 * x2 - x2**3 + 0.5], dim=1)


def _sigma(x: torch.Tensor) -> torch.Tensor:
    """State-dependent Σ(x) (n, 2, 3)."""
    x1, x2 = x[:, 0], x[:, 1]
    row1 = torch.stack([1.0 + 0.1 * x1**2, 0.3 * torch.sin(x2), 0.2 + 0 * x1], dim=-1)
    row2 = torch.stack([0.1 * x1 * x2, torch.cos(x1), 0.5 + 0.1 * x2], dim=-1)
    return torch.stack([row1, row2], dim=1)


POINTS = np.array([[0.3, -0.7], [-1.1, 0.4], [0.9, 1.2], [0.0, 0.05], [-0.6, -1.4]])


def _f(x_np: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return _phi(_t(x_np))[:, 0].numpy()


def _fd_gradient(x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    d = x.shape[1]
    return np.stack([(_f(x + h * e) - _f(x - h * e)) / (2 * h) for e in np.eye(d)], axis=1)


def _fd_hessian(x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    d = x.shape[1]
    E = np.eye(d) * h
    H = np.empty((x.shape[0], d, d))
    for i in range(d):
        for j in range(d):
            H[:, i, j] = (
                _f(x + E[i] + E[j]) - _f(x + E[i] - E[j]) - _f(x - E[i] + E[j]) + _f(x - E[i] - E[j])
            ) / (4 * h * h)
    return H


def _derivatives(x_np: np.ndarray, **kwargs):
    x = _t(x_np).requires_grad_(True)
    V = _phi(x)
    dV, d2V = value_derivatives(V, x, **kwargs)
    return x, V, dV, d2V


def test_value_derivatives_match_finite_differences():
    _, V, dV, d2V = _derivatives(POINTS)
    assert V.shape == (5, 1) and dV.shape == (5, 2) and d2V.shape == (5, 2, 2)
    assert dV.dtype == F64 and d2V.dtype == F64
    np.testing.assert_allclose(dV.detach().numpy(), _fd_gradient(POINTS), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(d2V.detach().numpy(), _fd_hessian(POINTS), rtol=1e-6, atol=1e-6)
    # The Hessian of a C² function is symmetric.
    np.testing.assert_allclose(d2V.detach().numpy(), d2V.detach().numpy().transpose(0, 2, 1), atol=1e-14)


def test_value_derivatives_graph_options():
    _, _, dV, d2V = _derivatives(POINTS, create_graph=False)
    assert not dV.requires_grad and not d2V.requires_grad
    _, _, dV1, none = _derivatives(POINTS, hessian=False)
    assert none is None and dV1.requires_grad
    np.testing.assert_allclose(dV1.detach().numpy(), dV.numpy(), rtol=1e-15)
    _, _, dV2, _ = _derivatives(POINTS, create_graph=False, hessian=False)
    assert not dV2.requires_grad
    np.testing.assert_allclose(dV2.numpy(), _fd_gradient(POINTS), rtol=1e-7, atol=1e-8)


def test_derivatives_keep_the_graph_to_parameters():
    """With V = θφ the generator is θ·Lφ, so d(Σ Lφ)/dθ through value_derivatives equals Σ Lφ at θ = 1."""
    theta = torch.tensor(1.0, dtype=F64, requires_grad=True)
    x = _t(POINTS).requires_grad_(True)
    dV, d2V = value_derivatives(theta * _phi(x), x)
    L = generator(dV, d2V, _drift(x).detach(), _sigma(x).detach())
    (g,) = torch.autograd.grad(L.sum(), theta)
    assert g.item() == pytest.approx(L.sum().item(), rel=1e-12)


def test_generator_matches_directional_finite_differences():
    """L φ = ∇φ·f + ½ Σ_j σ_jᵀ ∇²φ σ_j, each term by central differences of φ along f and along Σ's columns."""
    _, _, dV, d2V = _derivatives(POINTS)
    with torch.no_grad():
        f, S = _drift(_t(POINTS)).numpy(), _sigma(_t(POINTS)).numpy()
    L = generator(dV, d2V, _t(f), _t(S)).detach().numpy()
    assert L.shape == (5, 1)
    h1, h2 = 1e-4, 1e-4
    transport = (_f(POINTS + h1 * f) - _f(POINTS - h1 * f)) / (2 * h1)
    curvature = sum(
        (_f(POINTS + h2 * S[:, :, j]) - 2 * _f(POINTS) + _f(POINTS - h2 * S[:, :, j])) / h2**2 for j in range(3)
    )
    reference = transport + 0.5 * curvature
    assert np.abs(reference).min() > 1e-2  # a non-trivial comparison
    np.testing.assert_allclose(L[:, 0], reference, rtol=1e-6, atol=1e-7 * np.abs(reference).max())


def test_generator_is_linear_in_value_and_uses_covariance_only():
    """Σ enters only through ΣΣᵀ: Σ and ΣU (U orthogonal, k × k) give the same generator."""
    _, _, dV, d2V = _derivatives(POINTS)
    with torch.no_grad():
        f, S = _drift(_t(POINTS)), _sigma(_t(POINTS))
    U, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    L1 = generator(dV, d2V, f, S)
    L2 = generator(dV, d2V, f, S @ _t(U))
    np.testing.assert_allclose(L1.detach().numpy(), L2.detach().numpy(), rtol=1e-12, atol=1e-13)
    L3 = generator(2.0 * dV, 2.0 * d2V, f, S)
    np.testing.assert_allclose(L3.detach().numpy(), 2.0 * L1.detach().numpy(), rtol=1e-14)


def test_hamiltonian_is_reward_plus_generator():
    """A ControlProblem with the nonlinear model and a reward; hamiltonian = r + L^a φ (via finite differences)."""
    problem = _nonlinear_problem()
    x, _, dV, d2V = _derivatives(POINTS)
    a = _t(np.full((5, 1), 0.7))
    H = hamiltonian(problem, x.detach(), a, dV, d2V).detach().numpy()[:, 0]
    with torch.no_grad():
        xt = _t(POINTS)
        f = problem.drift(xt, a).numpy()
        r = problem.reward(xt, a).numpy()[:, 0]
        S = problem.diffusion(xt, a).numpy()
    h = 1e-4
    ref = r + (_f(POINTS + h * f) - _f(POINTS - h * f)) / (2 * h)
    ref += 0.5 * sum((_f(POINTS + h * S[:, :, j]) - 2 * _f(POINTS) + _f(POINTS - h * S[:, :, j])) / h**2 for j in range(3))
    np.testing.assert_allclose(H, ref, rtol=1e-6, atol=1e-7)


def _nonlinear_problem(**overrides) -> ControlProblem:
    def drift(x, a):
        return _drift(x) + torch.cat([a, -a], dim=1)

    def diffusion(x, a):
        return _sigma(x) * (1.0 + 0.1 * a[:, :, None] ** 2)

    def reward(x, a):
        return -(x**2).sum(-1, keepdim=True) - a**2

    kwargs = dict(name="nl", drift=drift, diffusion=diffusion, reward=reward, discount=0.5,
                  domain=Box([-2.0, -2.0], [2.0, 2.0]), action_dim=1)
    kwargs.update(overrides)
    return ControlProblem(**kwargs)


# ---------------------------------------------------------------- exact solutions in the residuals


def _lqr_value(P: np.ndarray, c: float):
    Pt = _t(P)

    def V(x):
        return -0.5 * ((x @ Pt) * x).sum(-1, keepdim=True) - c

    return V


def _lqr_2d() -> StochasticLQR:
    return StochasticLQR(
        A=[[-0.5, 0.4], [-0.3, -0.8]], B=[[1.0, 0.2], [0.0, 0.7]], Q=np.eye(2), R=np.diag([0.2, 0.1]),
        D=0.3 * np.eye(2), discount=0.1,
    )


def _lqr_5d() -> StochasticLQR:
    rng = np.random.default_rng(7)
    A = rng.normal(size=(5, 5)) / np.sqrt(5) - 0.5 * np.eye(5)
    M = rng.normal(size=(2, 2))
    return StochasticLQR(A=A, B=rng.normal(size=(5, 2)), Q=np.eye(5), R=M @ M.T + np.eye(2),
                         D=0.3 * rng.normal(size=(5, 3)), discount=0.2)


@pytest.mark.parametrize("build", [seed_lqr, _lqr_2d, _lqr_5d], ids=["seed1d", "2d", "5d"])
def test_lqr_exact_value_has_zero_residuals(build):
    problem = build()
    sol = discounted_riccati(problem.A, problem.B, problem.Q, problem.R, problem.D, problem.discount)
    d = problem.state_dim
    x_np = problem.domain.sample(16, "sobol", seed=3)
    x = _t(x_np).requires_grad_(True)
    V = _lqr_value(sol.P, sol.c)(x)
    dV, d2V = value_derivatives(V, x)
    assert d2V.shape == (16, d, d)
    scale = (problem.discount * V).abs().detach().numpy()[:, 0]
    a_star = _t(sol.policy(x_np))
    # The problem's closed-form greedy action is the Riccati policy −Kx.
    np.testing.assert_allclose(greedy(problem, x, dV, d2V).detach().numpy(), sol.policy(x_np), rtol=1e-10, atol=1e-12)
    R_hjb = hjb_residual(problem, x, V, dV, d2V).detach().numpy()[:, 0]
    R_eval = evaluation_residual(problem, x, V, dV, d2V, a_star).detach().numpy()[:, 0]
    assert np.all(np.abs(R_hjb) < 1e-10 * scale)
    assert np.all(np.abs(R_eval) < 1e-10 * scale)
    # Any other action does worse: ρV − (r + L^a V) = ½(a − a*)ᵀR(a − a*) > 0 (the Hamiltonian is concave).
    a_other = a_star + 0.1
    R_other = evaluation_residual(problem, x, V, dV, d2V, a_other).detach().numpy()[:, 0]
    gap = 0.5 * np.einsum("ni,ij,nj->n", np.full_like(sol.policy(x_np), 0.1), problem.R,
                          np.full_like(sol.policy(x_np), 0.1))
    np.testing.assert_allclose(R_other, gap, rtol=1e-8, atol=1e-10 * scale.max())


@pytest.mark.parametrize("build", [seed_lqr, _lqr_2d], ids=["seed1d", "2d"])
def test_lqr_perturbed_value_has_the_predicted_residual(build):
    """Negative control: V' = −½xᵀP'x − c' with P' ≠ P gives ρV' − max_a{…} = ½xᵀ Ric(P') x + ½Tr(DᵀP'D) − ρc'."""
    problem = build()
    sol = discounted_riccati(problem.A, problem.B, problem.Q, problem.R, problem.D, problem.discount)
    P1, c1 = 1.05 * sol.P, sol.c
    x_np = problem.domain.sample(16, "sobol", seed=4)
    x = _t(x_np).requires_grad_(True)
    V = _lqr_value(P1, c1)(x)
    dV, d2V = value_derivatives(V, x)
    R = hjb_residual(problem, x, V, dV, d2V).detach().numpy()[:, 0]
    A, B, Q, Rm, D, rho = problem.A, problem.B, problem.Q, problem.R, problem.D, problem.discount
    As = A - 0.5 * rho * np.eye(A.shape[0])
    ric = As.T @ P1 + P1 @ As - P1 @ B @ np.linalg.solve(Rm, B.T) @ P1 + Q
    predicted = 0.5 * np.einsum("ni,ij,nj->n", x_np, ric, x_np) + 0.5 * np.trace(D.T @ P1 @ D) - rho * c1
    np.testing.assert_allclose(R, predicted, rtol=1e-9, atol=1e-12)
    scale = np.abs(problem.discount * V.detach().numpy()[:, 0])
    assert np.median(np.abs(R) / scale) > 1e-2


def test_merton_exact_value_has_zero_residuals():
    problem = Merton()
    sol = merton_solution(problem)
    gamma = problem.gamma
    x_np = problem.domain.sample(16, "sobol", seed=5)
    x = _t(x_np).requires_grad_(True)
    V = sol.A * x ** (1 - gamma) / (1 - gamma)
    dV, d2V = value_derivatives(V, x)
    scale = (problem.discount * V).abs().detach().numpy()[:, 0]
    np.testing.assert_allclose(V.detach().numpy()[:, 0], sol.value(x_np), rtol=1e-14)
    a = greedy(problem, x, dV, d2V).detach().numpy()
    np.testing.assert_allclose(a, sol.policy(x_np), rtol=1e-10)
    np.testing.assert_allclose(a[0], [0.625, 0.0478125], rtol=1e-10)
    R_hjb = hjb_residual(problem, x, V, dV, d2V).detach().numpy()[:, 0]
    R_eval = evaluation_residual(problem, x, V, dV, d2V, _t(sol.policy(x_np))).detach().numpy()[:, 0]
    assert np.all(np.abs(R_hjb) < 1e-10 * scale)
    assert np.all(np.abs(R_eval) < 1e-10 * scale)
    # Negative control: a 2% error in the coefficient A leaves a residual of the predicted size.
    # With V = A'x^{1−γ}/(1−γ) the greedy k is A'^{−1/γ} and ρV − H = x^{1−γ}[ρA'/(1−γ) − γA'^{(γ−1)/γ}/(1−γ) − A'M].
    A1 = 1.02 * sol.A
    V1 = A1 * x ** (1 - gamma) / (1 - gamma)
    dV1, d2V1 = value_derivatives(V1, x)
    R1 = hjb_residual(problem, x, V1, dV1, d2V1).detach().numpy()[:, 0]
    M = problem.r_f + (problem.mu - problem.r_f) ** 2 / (2 * gamma * problem.sigma**2)
    coef = problem.discount * A1 / (1 - gamma) - gamma * A1 ** ((gamma - 1) / gamma) / (1 - gamma) - A1 * M
    np.testing.assert_allclose(R1, coef * x_np[:, 0] ** (1 - gamma), rtol=1e-9)
    assert np.min(np.abs(R1) / scale) > 1e-4


def test_merton_greedy_is_clipped_into_the_bounds():
    """Where V is nearly linear the unconstrained π = −(μ−r_f)V′/(σ²xV″) is huge; it is clipped to the bound."""
    problem = Merton()
    x = _t([[1.0], [2.0]]).requires_grad_(True)
    V = 10.0 * x - 1e-6 * x**2  # V′ ≈ 10, V″ = −2e-6
    dV, d2V = value_derivatives(V, x)
    a = greedy(problem, x, dV, d2V).detach().numpy()
    np.testing.assert_allclose(a[:, 0], [5.0, 5.0])  # upper π bound
    k_raw = (10.0 - 2e-6 * np.array([1.0, 2.0])) ** (-1 / problem.gamma) / np.array([1.0, 2.0])
    np.testing.assert_allclose(a[:, 1], np.clip(k_raw, 1e-4, 2.0), rtol=1e-12)
    # The raw (unclipped) greedy action is available from the problem itself.
    raw = problem.greedy_action(x, dV, d2V).detach().numpy()
    assert raw[0, 0] == pytest.approx(0.05 * 10.0 / (0.04 * 1.0 * 2e-6), rel=1e-6)


def test_merton_refuses_a_start_without_a_finite_value():
    with pytest.raises(ProblemError, match="k₀"):
        Merton(r_f=-0.05, gamma=3.0, discount=0.04)


def test_merton_initial_policy_and_shapes():
    problem = Merton()
    x = _t([[0.7], [2.0], [4.5]])
    # π = 0 and the riskless optimum k₀ = (ρ − (1−γ) r_f)/γ = (0.05 + 0.03)/2
    np.testing.assert_allclose(problem.initial_policy(x).numpy(), [[0.0, 0.04]] * 3, rtol=1e-15)
    assert problem.check_shapes() == 1
    assert seed_lqr().check_shapes() == 1
    assert _lqr_5d().check_shapes() == 3


def test_greedy_without_declared_action_raises():
    problem = _nonlinear_problem()
    x, _, dV, d2V = _derivatives(POINTS[:2])
    with pytest.raises(ProblemError, match="greedy_action"):
        greedy(problem, x, dV, d2V)
    with pytest.raises(ProblemError, match="greedy_action"):
        hjb_residual(problem, x, _phi(x), dV, d2V)


# ---------------------------------------------------------------- ControlProblem validation


@pytest.mark.parametrize("discount", [0.0, -0.1, float("nan"), float("inf"), "fast", None])
def test_control_problem_rejects_bad_discount(discount):
    with pytest.raises(ProblemError, match="discount"):
        _nonlinear_problem(discount=discount)


def test_control_problem_accepts_and_describes():
    problem = _nonlinear_problem(action_bounds=([-1.0], [2.0]))
    assert problem.state_dim == 2 and problem.action_dim == 1 and problem.discount == 0.5
    assert problem.check_shapes() == 3
    info = problem.describe()
    assert info["state_dim"] == 2 and info["action_bounds"] == [[-1.0], [2.0]]
    assert info["has_greedy_action"] is False
    a = problem.clip_action(_t([[-3.0], [0.5], [9.0]]))
    np.testing.assert_allclose(a.numpy()[:, 0], [-1.0, 0.5, 2.0])
    # The default initial policy is a ≡ 0 clipped into the bounds.
    shifted = _nonlinear_problem(action_bounds=([0.25], [2.0]))
    np.testing.assert_allclose(shifted.initial_policy(_t(POINTS)).numpy(), 0.25)


@pytest.mark.parametrize("label", ["drift", "diffusion", "reward", "initial_policy", "greedy_action"])
def test_control_problem_rejects_non_callables(label):
    with pytest.raises(ProblemError, match=label):
        _nonlinear_problem(**{label: 3.0})


@pytest.mark.parametrize(
    "bounds",
    [([1.0], [0.0]), ([0.0, 0.0], [1.0, 1.0]), ([0.0],), "ab", ([0.0], ["x"])],
    ids=["low>high", "wrong_length", "one_sided", "string", "not_numbers"],
)
def test_control_problem_rejects_bad_action_bounds(bounds):
    with pytest.raises(ProblemError, match="action_bounds"):
        _nonlinear_problem(action_bounds=bounds)


@pytest.mark.parametrize("m", [0, -1, 1.5, True])
def test_control_problem_rejects_bad_action_dim(m):
    with pytest.raises(ProblemError, match="action_dim"):
        _nonlinear_problem(action_dim=m)


def test_control_problem_rejects_non_box_domain_and_empty_name():
    with pytest.raises(ProblemError, match="domain"):
        _nonlinear_problem(domain=(-1.0, 1.0))
    with pytest.raises(ProblemError, match="name"):
        _nonlinear_problem(name="")


def _shape_message_has(exc: pytest.ExceptionInfo, label: str, got: tuple, expected: tuple) -> None:
    msg = str(exc.value)
    assert label in msg
    assert str(got) in msg, msg
    assert str(expected) in msg, msg


@pytest.mark.parametrize(
    "label, fn, got, expected",
    [
        ("drift", lambda x, a: torch.zeros(x.shape[0], 3, dtype=x.dtype), (5, 3), (5, 2)),
        ("drift", lambda x, a: torch.zeros(x.shape[0], dtype=x.dtype), (5,), (5, 2)),
        ("reward", lambda x, a: torch.zeros(x.shape[0], dtype=x.dtype), (5,), (5, 1)),
        ("reward", lambda x, a: torch.zeros(x.shape[0], 2, dtype=x.dtype), (5, 2), (5, 1)),
        ("initial_policy", lambda x: torch.zeros(x.shape[0], 2, dtype=x.dtype), (5, 2), (5, 1)),
        ("greedy_action", lambda x, dV, d2V: dV, (5, 2), (5, 1)),
    ],
)
def test_check_shapes_names_function_and_both_shapes(label, fn, got, expected):
    problem = _nonlinear_problem(**{label: fn})
    with pytest.raises(ShapeError) as exc:
        problem.check_shapes()
    _shape_message_has(exc, label, got, expected)


def test_check_shapes_diffusion_and_non_tensor():
    problem = _nonlinear_problem(diffusion=lambda x, a: torch.ones(x.shape[0], 2, dtype=x.dtype))
    with pytest.raises(ShapeError) as exc:
        problem.check_shapes()
    assert "diffusion" in str(exc.value) and "(5, 2)" in str(exc.value) and "(5, 2, k)" in str(exc.value)
    problem = _nonlinear_problem(diffusion=lambda x, a: torch.ones(x.shape[0], 3, 1, dtype=x.dtype))
    with pytest.raises(ShapeError, match=re.escape("(5, 3, 1)")):
        problem.check_shapes()
    problem = _nonlinear_problem(reward=lambda x, a: np.zeros((x.shape[0], 1)))
    with pytest.raises(ShapeError, match="reward.*torch.Tensor"):
        problem.check_shapes()
    assert issubclass(ShapeError, ProblemError)


# ---------------------------------------------------------------- StochasticLQR validation


GOOD = dict(A=[[-0.5, 0.4], [-0.3, -0.8]], B=[[1.0], [0.5]], Q=np.eye(2), R=[[0.1]], D=0.3 * np.eye(2), discount=0.1)


@pytest.mark.parametrize(
    "change, word",
    [
        (dict(A=[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), "matrix A"),
        (dict(B=[[1.0], [0.5], [0.2]]), "matrix B"),
        (dict(Q=np.eye(3)), "matrix Q"),
        (dict(R=np.eye(2)), "matrix R"),
        (dict(D=np.ones((3, 2))), "matrix D"),
        (dict(R=[[-0.1]]), "positive definite"),
        (dict(R=[[0.0]]), "positive definite"),
        (dict(Q=[[1.0, 0.5], [0.0, 1.0]]), "symmetric"),
        (dict(Q=-np.eye(2)), "semi-definite"),
        (dict(A=[[np.nan, 0.0], [0.0, 1.0]]), "finite"),
        (dict(discount=0.0), "discount"),
    ],
)
def test_stochastic_lqr_rejects_bad_matrices(change, word):
    with pytest.raises(ProblemError, match=word):
        StochasticLQR(**{**GOOD, **change})


def test_stochastic_lqr_rejects_non_spd_R_in_2d():
    with pytest.raises(ProblemError, match="matrix R"):
        StochasticLQR(**{**GOOD, "B": np.eye(2), "R": [[1.0, 2.0], [2.0, 1.0]]})  # eigenvalues 3, −1
    with pytest.raises(ProblemError, match="matrix R"):
        StochasticLQR(**{**GOOD, "B": np.eye(2), "R": [[1.0, 0.2], [0.0, 1.0]]})  # not symmetric


def test_stochastic_lqr_dynamics_are_the_declared_matrices():
    problem = StochasticLQR(**GOOD)
    rng = np.random.default_rng(0)
    x_np, a_np = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    x, a = _t(x_np), _t(a_np)
    A, B, Q, R, D = (np.asarray(GOOD[k], dtype=float) for k in "ABQRD")
    np.testing.assert_allclose(problem.drift(x, a).numpy(), x_np @ A.T + a_np @ B.T, rtol=1e-14)
    np.testing.assert_allclose(problem.diffusion(x, a).numpy(), np.broadcast_to(D, (4, 2, 2)))
    r = -0.5 * (np.einsum("ni,ij,nj->n", x_np, Q, x_np) + np.einsum("ni,ij,nj->n", a_np, R, a_np))
    np.testing.assert_allclose(problem.reward(x, a).numpy()[:, 0], r, rtol=1e-14)
    assert problem.domain.lo.tolist() == [-2.0, -2.0] and problem.domain.hi.tolist() == [2.0, 2.0]
    assert problem.check_shapes() == 2


def test_merton_rejects_bad_domain():
    with pytest.raises(ProblemError, match="domain"):
        Merton(domain=Box(-1.0, 1.0))
    with pytest.raises(ProblemError, match="domain"):
        Merton(domain=Box([0.5, 0.5], [2.0, 2.0]))
    with pytest.raises(UnknownNameError):
        Merton(domain=Box(0.5, 2.0, scale="sqrt"))


def test_lqr_rejects_bad_discount_and_domain_dimension_with_problem_error():
    from hjb.errors import ProblemError
    from hjb.geometry import Box
    from hjb.pdes import StochasticLQR

    matrices = dict(A=[[-0.5, 0.0], [0.0, -0.5]], B=[[1.0], [0.0]], Q=np.eye(2), R=[[1.0]], D=[[0.3], [0.0]])
    with pytest.raises(ProblemError, match="discount"):
        StochasticLQR(**matrices, discount="abc")
    with pytest.raises(ProblemError, match="dimension 2"):
        StochasticLQR(**matrices, discount=0.1, domain=Box(-1.0, 1.0))
