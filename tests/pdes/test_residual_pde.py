"""Residual PDEs (hjb.pdes.residual_pde, hjb.pdes.conditions, hjb.pdes.derivatives): exact solutions zero their
residuals and conditions in float64, derivatives against closed forms, and bad declarations refused up front."""
import math

import numpy as np
import pytest
import torch

from hjb.errors import ProblemError, ShapeError, UnknownNameError
from hjb.geometry import Box, SpaceTime
from hjb.pdes.conditions import (
    Dirichlet,
    Initial,
    Neumann,
    Periodic,
    PointData,
    Terminal,
    condition_points,
)
from hjb.pdes.derivatives import Derivatives
from hjb.pdes.residual_pde import ResidualPDE

PI = math.pi
HEAT_D, HEAT_K = 5, 0.2


def heat_exact(z):
    """u = Π_i sin(π x_i)·e^{−k d π² t} (n,) at space-time points (n, d + 1): u_t = kΔu, u = 0 on ∂[0, 1]^d."""
    lib = torch if isinstance(z, torch.Tensor) else np
    return lib.prod(lib.sin(PI * z[:, :HEAT_D]), 1) * lib.exp(-HEAT_K * HEAT_D * PI**2 * z[:, HEAT_D])


def heat():
    return ResidualPDE(name="heat5d", domain=SpaceTime(Box([0.0] * HEAT_D, [1.0] * HEAT_D), 1.0),
                       residual=lambda x, u, D: D.dt() - HEAT_K * D.laplacian(),
                       conditions=[Dirichlet(0.0), Initial(heat_exact)])


def poisson():
    """−Δu = 2π² sin(πx) sin(πy) on [0, 1]², u = 0 on the boundary: u = sin(πx) sin(πy)."""
    source = lambda x: 2 * PI**2 * torch.sin(PI * x[:, :1]) * torch.sin(PI * x[:, 1:2])  # noqa: E731
    return ResidualPDE(name="poisson2d", domain=Box([0.0, 0.0], [1.0, 1.0]),
                       residual=lambda x, u, D: D.laplacian() + source(x), conditions=[Dirichlet(0.0)])


def _residual_of(pde, exact, n=256):
    x = torch.as_tensor(pde.domain.sample(n, "uniform", seed=3), dtype=torch.float64).requires_grad_(True)
    return pde.residual_at(x, exact(x).reshape(-1, 1)).detach().numpy()


def test_the_exact_heat_and_poisson_solutions_zero_their_residuals_and_conditions():
    assert np.max(np.abs(_residual_of(heat(), heat_exact))) < 1e-12
    assert np.max(np.abs(_residual_of(poisson(), lambda x: torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])))) < 1e-12
    pde = heat()
    for c in pde.conditions:
        z = condition_points(c, pde.domain, set(), 200, seed=1)
        target = np.zeros(len(z)) if isinstance(c, Dirichlet) else heat_exact(z)
        assert np.max(np.abs(heat_exact(z) - target)) < 1e-12
    # the condition points lie exactly on their parts: the Dirichlet ones on a face, the initial ones at t = 0
    z = condition_points(pde.conditions[0], pde.domain, set(), 200, seed=1)
    assert np.all(np.any((z[:, :HEAT_D] == 0.0) | (z[:, :HEAT_D] == 1.0), axis=1))
    assert np.all(condition_points(pde.conditions[1], pde.domain, set(), 50, seed=1)[:, -1] == 0.0)


def test_a_wrong_solution_does_not_zero_the_residual():
    wrong = lambda z: torch.prod(torch.sin(PI * z[:, :HEAT_D]), 1) * torch.exp(-z[:, HEAT_D])  # noqa: E731
    assert np.sqrt(np.mean(_residual_of(heat(), wrong) ** 2)) > 1e-2


def test_face_points_cover_each_face_evenly():
    """Each face gets its own Sobol set: taking every 4th point of one set would put a face's points in a quarter of it."""
    box = Box([0.0, 0.0], [1.0, 1.0])
    z = condition_points(Dirichlet(0.0), box, set(), 400, seed=0)
    on_bottom = z[z[:, 1] == 0.0]
    assert len(on_bottom) == 100 and on_bottom[:, 0].min() < 0.05 and on_bottom[:, 0].max() > 0.95


def test_derivatives_match_closed_forms():
    x = torch.tensor([[0.3, -0.7, 0.4], [1.1, 0.2, 0.9]], dtype=torch.float64, requires_grad=True)
    a, b, t = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    D = Derivatives(x, torch.sin(a) * b**2 * torch.exp(t), time=True)
    e = torch.exp(t)
    checks = [(D.dx(0), torch.cos(a) * b**2 * e), (D.dx(1), 2 * torch.sin(a) * b * e), (D.dt(), torch.sin(a) * b**2 * e),
              (D.dxx(0), -torch.sin(a) * b**2 * e), (D.dxx(0, 1), 2 * torch.cos(a) * b * e),
              (D.laplacian(), (-torch.sin(a) * b**2 + 2 * torch.sin(a)) * e)]
    for got, want in checks:
        assert torch.allclose(got, want, atol=1e-14)
    assert D.grad().shape == (2, 2)
    with pytest.raises(ProblemError, match="space axis 2"):
        D.dx(2)
    with pytest.raises(ProblemError, match="needs a SpaceTime"):
        Derivatives(x, x.sum(1, keepdim=True)).dt()


@pytest.mark.parametrize("make, error, match", [
    (lambda: ResidualPDE(name="p", domain=Box([0.0], [1.0]), residual=lambda x, u, D: D.dxx(0)[:, 0:1].repeat(1, 2)),
     ShapeError, r"returned shape \(8, 2\); expected \(8, 1\)"),
    (lambda: ResidualPDE(name="p", domain=Box([0.0], [1.0]), residual=lambda x, u, D: D.dxx(0),
                         conditions=[Dirichlet(0.0, on="x1_lo")]), UnknownNameError, "unknown part of the boundary 'x1_lo'"),
    (lambda: ResidualPDE(name="p", domain=Box([0.0], [1.0]), residual=lambda x, u, D: D.dxx(0),
                         conditions=[Periodic(0), Neumann(0.0)]), ProblemError, "every axis is periodic"),
    (lambda: ResidualPDE(name="p", domain=Box([0.0], [1.0]), residual=lambda x, u, D: D.dxx(0),
                         conditions=[Periodic(1)]), ProblemError, "Periodic axis 1 does not exist"),
    (lambda: ResidualPDE(name="p", domain=Box([0.0], [1.0]), residual=lambda x, u, D: D.dxx(0),
                         conditions=[Terminal(0.0)]), ProblemError, "needs a SpaceTime domain"),
    (lambda: ResidualPDE(name="p", domain=Box([0.0], [1.0]), residual=lambda x, u, D: D.dxx(0),
                         conditions=[PointData(np.zeros((3, 2)), np.zeros(3))]), ShapeError, r"points \(n, 1\)"),
    (lambda: ResidualPDE(name="p", domain=Box([0.0], [1.0]), residual=lambda x, u, D: D.dxx(0), conditions=["u=0"]),
     ProblemError, "expected one of Dirichlet"),
])
def test_bad_declarations_are_refused_with_one_line(make, error, match):
    with pytest.raises(error, match=match) as caught:
        make().check_shapes()
    assert "\n" not in str(caught.value)
