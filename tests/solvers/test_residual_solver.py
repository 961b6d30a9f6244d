"""Residual PDEs fitted by hjb.solvers.residual against closed forms: Neumann, periodic and point-data conditions in
1-D (small budgets; the defaults are measured in the README), and a status that reports a missed target."""
import math

import numpy as np
import pytest
import torch

from hjb.geometry import Box
from hjb.pdes.conditions import Dirichlet, Neumann, Periodic, PointData
from hjb.pdes.residual_pde import ResidualPDE
from hjb.settings import ResidualSettings
from hjb.solvers.residual import solve_residual

PI = math.pi
SMALL = ResidualSettings(width=32, collocation=128, boundary_points=8, adam_steps_first=500, pde_lbfgs_steps=500)

CASES = {
    # −u'' + u = (1 + π²) cos(πx) on [0, 1], u'(0) = u'(1) = 0: u = cos(πx)
    "neumann": (ResidualPDE(name="neumann1d", domain=Box([0.0], [1.0]), conditions=[Neumann(0.0)],
                            residual=lambda x, u, D: -D.dxx(0) + u - (1 + PI**2) * torch.cos(PI * x)),
                lambda x: np.cos(PI * x)),
    # −u'' + u = 2 sin x, periodic on [0, 2π]: u = sin x
    "periodic": (ResidualPDE(name="periodic1d", domain=Box([0.0], [2 * PI]), conditions=[Periodic(0)],
                             residual=lambda x, u, D: -D.dxx(0) + u - 2 * torch.sin(x)),
                 lambda x: np.sin(x)),
    # u'' = 0 through (0, 1) and (1, 3): u = 1 + 2x
    "points": (ResidualPDE(name="line1d", domain=Box([0.0], [1.0]), residual=lambda x, u, D: D.dxx(0),
                           conditions=[PointData([[0.0], [1.0]], [1.0, 3.0])]),
               lambda x: 1 + 2 * x),
    # u'' = −π² sin(πx), u(0) = u(1) = 0 through an output transform u = x(1 − x)·N that builds them in: u = sin(πx)
    "transform": (ResidualPDE(name="transform1d", domain=Box([0.0], [1.0]),
                              residual=lambda x, u, D: D.dxx(0) + PI**2 * torch.sin(PI * x),
                              output_transform=lambda x, y: x * (1 - x) * y),
                  lambda x: np.sin(PI * x)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_residual_pde_solves_to_its_closed_form(name):
    pde, exact = CASES[name]
    solution = solve_residual(pde, SMALL, progress=False)
    x = np.linspace(pde.domain.lo, pde.domain.hi, 401)
    u, ref = solution.value(x), exact(x[:, 0])
    assert np.linalg.norm(u - ref) / np.linalg.norm(ref) < 1e-3
    record = solution.history[0]
    assert record["relative"] < 1e-2 and set(record["condition_rms"]) == {
        f"{k}:{type(c).__name__}" for k, c in enumerate(pde.conditions)}


def test_the_status_reports_a_missed_target():
    """Two Adam steps leave u far from sin(πx): the measured residual says not_converged."""
    pde = ResidualPDE(name="poisson1d", domain=Box([0.0], [1.0]), conditions=[Dirichlet(0.0)],
                      residual=lambda x, u, D: D.dxx(0) + PI**2 * torch.sin(PI * x))
    solution = solve_residual(pde, SMALL.replace(adam_steps_first=2, pde_lbfgs_steps=0), progress=False)
    assert solution.status == "not_converged" and solution.history[0]["relative"] > 1e-2
