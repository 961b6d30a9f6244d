"""Feynman–Kac paths at the box's faces (hjb.montecarlo.boundary): exit (stopped, crediting the boundary reward)
and reflection, against closed forms for Brownian motion on [−L, L] within 4 standard errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hjb.geometry import Box
from hjb.montecarlo.boundary import Faces
from hjb.montecarlo.feynman_kac import feynman_kac
from hjb.pdes import ControlProblem
from hjb.pdes.exit_time import exit_time
from hjb.validation.exit_time import ExitTimeSolution

F64 = torch.float64
X0 = np.array([[0.0], [0.4], [0.85], [1.0]])


def _zero_policy(x):
    return torch.zeros(x.shape[0], 1, dtype=x.dtype)


def _brownian(reward, rho: float, sigma: float, L: float, boundary: str, boundary_reward=None) -> ControlProblem:
    return ControlProblem(name="bm", drift=lambda x, a: torch.zeros_like(x),
                          diffusion=lambda x, a: torch.full((x.shape[0], 1, 1), sigma, dtype=x.dtype),
                          reward=reward, discount=rho, domain=Box(-L, L), action_dim=1, boundary=boundary,
                          boundary_reward=boundary_reward)


@pytest.mark.parametrize("sigma, rho, L", [(1.0, 0.5, 1.0), (0.6, 1.5, 0.5)])
def test_exit_time_matches_closed_form(sigma, rho, L):
    problem = exit_time(sigma=sigma, discount=rho, half_width=L)
    x0 = X0 * L
    # Steps of diffusion length σ√dt = L/10 (bias ≤ 2.5e-3 of 1/ρ at L/9, Richardson-corrected).
    est = feynman_kac(problem, _zero_policy, x0, paths=1000, horizon=10.0 / rho, dt=0.01 * L**2 / sigma**2, seed=3)
    exact = ExitTimeSolution(sigma, rho, L).value(x0)
    assert est.mean[-1] == pytest.approx(0.0, abs=1e-12)  # a path started on a face stops at once
    assert np.all(np.abs(est.mean[:-1] - exact[:-1]) <= 4 * est.stderr[:-1] + 2e-3 / rho)
    # Without the exit the paths would earn 1/ρ: the exit must cut V well below it.
    assert np.all(est.mean[:-1] < 0.9 / rho)


def test_exit_credits_the_discounted_boundary_reward():
    # r = 0, g = 3 on both faces: V(x) = 3·E e^{−ρτ} = 3·cosh(κx)/cosh(κL).
    sigma, rho, L = 1.0, 0.5, 1.0
    problem = _brownian(lambda x, a: torch.zeros(x.shape[0], 1, dtype=x.dtype), rho, sigma, L, "exit",
                        lambda x: torch.full((x.shape[0], 1), 3.0, dtype=x.dtype))
    est = feynman_kac(problem, _zero_policy, X0, paths=1500, horizon=20.0, dt=0.02, seed=4)
    kappa = math.sqrt(2 * rho) / sigma
    exact = 3.0 * np.cosh(kappa * X0[:, 0]) / math.cosh(kappa * L)
    assert np.all(np.abs(est.mean - exact) <= 4 * est.stderr + 5e-3)


def test_reflection_matches_closed_form():
    # r = cos(πx/L) with ∇V·n = 0 at ±L: V = cos(πx/L)/(ρ + ½σ²π²/L²).
    sigma, rho, L = 1.0, 0.5, 1.0
    problem = _brownian(lambda x, a: torch.cos(math.pi * x / L), rho, sigma, L, "reflect")
    est = feynman_kac(problem, _zero_policy, X0, paths=1500, horizon=16.0, dt=0.02, seed=5)
    exact = np.cos(math.pi * X0[:, 0] / L) / (rho + 0.5 * sigma**2 * math.pi**2 / L**2)
    assert np.all(np.abs(est.mean - exact) <= 4 * est.stderr + 2e-3)


def test_faces_reflect_and_exit():
    faces = Faces(Box(-1.0, 2.0), "reflect")
    x = torch.tensor([[2.5], [-1.25], [0.3], [6.5]], dtype=F64)
    assert faces.reflect(x)[:, 0].tolist() == pytest.approx([1.5, -0.75, 0.3, 0.5])
    log_faces = Faces(Box(1.0, 4.0, scale="log"), "reflect")
    assert log_faces.reflect(torch.tensor([[8.0], [0.5]], dtype=F64))[:, 0].tolist() == pytest.approx([2.0, 2.0])
    x0 = torch.tensor([[0.0], [1.9], [1.99], [0.0]], dtype=F64)
    x1 = torch.tensor([[0.1], [1.95], [2.3], [0.0]], dtype=F64)
    p, z = faces.exit(x0, x1, torch.ones_like(x0), dt=0.01)
    # Bridge from 1.9 to 1.95, distances 0.1 and 0.05 to the face at 2: e^{−2·0.1·0.05/0.01} = e^{−1} (the face at
    # −1, ~3 away, adds nothing); 1 from 1.99 to 2.3 (outside); ~0 far from the faces.
    assert p[1].item() == pytest.approx(math.exp(-1.0), rel=1e-12)
    assert p[2].item() == 1.0
    assert p[0].item() < 1e-100 and p[3].item() < 1e-100
    assert z[1:3, 0].tolist() == pytest.approx([2.0, 2.0])


def test_a_path_on_a_face_collects_g_exactly_with_the_control_variate():
    # The control variate is weighted by the chance to stay for the step: a path on the face stops at once, so its
    # estimate is g = 0 with no noise (subtracted in full, V's increment added noise of ~|V′|σ√dt).
    problem = exit_time()
    k = math.sqrt(2 * 0.5)

    def gradient(c):
        return (-k * torch.sinh(k * c) / math.cosh(k) / 0.5,
                (-k * k * torch.cosh(k * c) / math.cosh(k) / 0.5).unsqueeze(-1))

    est = feynman_kac(problem, _zero_policy, np.array([[1.0], [-1.0], [0.0]]), paths=256, horizon=10.0, dt=0.01,
                      gradient=gradient, seed=6)
    assert est.mean[:2].tolist() == [0.0, 0.0] and est.stderr[:2].tolist() == [0.0, 0.0]
    faces = Faces(Box(-1.0, 1.0), "exit")
    stay = faces.stay(torch.tensor([[1.0], [0.0], [0.9]], dtype=F64), torch.ones(3, 1, dtype=F64), dt=0.01)
    # 1 − 2Φ(−0.1/0.1) = 0.6827 from 0.9 (the far face adds nothing); 0 on the face; ~1 in the middle.
    assert stay.tolist() == pytest.approx([0.0, 1.0, 0.682689492137], abs=1e-9)
