"""`hjb solve` and `hjb export` on a PDE file that declares a ResidualPDE: a 1-D Poisson problem against its closed form
through the command line, a heat equation exported on a (t, x) grid, and bad declarations → exit 2, nothing written."""
from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_solver import error_line, run_cli, write

POISSON_FILE = """
import torch
from hjb.geometry import Box
from hjb.pdes.conditions import Dirichlet
from hjb.pdes.residual_pde import ResidualPDE
from hjb.settings import ResidualSettings

pde = ResidualPDE(name="poisson1d", domain=Box([0.0], [1.0]), conditions=[Dirichlet(0.0)],
                  residual=lambda x, u, D: D.dxx(0) + torch.pi**2 * torch.sin(torch.pi * x))
settings = ResidualSettings(width=32, collocation=128, boundary_points=8, adam_steps_first=500, pde_lbfgs_steps=500)
"""

HEAT_FILE = """
import numpy as np
from hjb.geometry import Box, SpaceTime
from hjb.pdes.conditions import Dirichlet, Initial
from hjb.pdes.residual_pde import ResidualPDE
from hjb.settings import ResidualSettings

pde = ResidualPDE(name="heat1d", domain=SpaceTime(Box([0.0], [1.0]), 0.5), conditions=[Dirichlet(0.0),
                  Initial(lambda z: np.sin(np.pi * z[:, 0]))], residual=lambda x, u, D: D.dt() - D.dxx(0))
settings = ResidualSettings(width=16, collocation=64, boundary_points=8, adam_steps_first=20, pde_lbfgs_steps=0)
"""


def test_a_residual_pde_file_solves_and_exports_its_closed_form(tmp_path):
    write(tmp_path / "poisson.py", POISSON_FILE)
    result = run_cli("solve", "poisson.py", "--quiet", "--out", "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "fitted poisson1d" in result.stdout and "status converged" in result.stdout
    marker = json.loads((tmp_path / "run" / "hjb-run.json").read_text())
    assert marker["kind"] == "residual_pde" and marker["problem"]["conditions"] == [{"kind": "Dirichlet",
                                                                                     "on": "boundary"}]
    for fmt in ("npz", "csv", "netcdf"):
        assert run_cli("export", "run", "--points", "51", "--format", fmt, cwd=tmp_path).returncode == 0
    data = np.load(tmp_path / "run" / "grid.npz")
    assert set(data.files) == {"x", "u", "residual", "meta"} and data["x"].shape == (51, 1)
    exact = np.sin(np.pi * data["x"][:, 0])
    assert np.linalg.norm(data["u"] - exact) / np.linalg.norm(exact) < 1e-3
    assert np.sqrt(np.mean(data["residual"] ** 2)) < 1e-2 * np.pi**2
    header = (tmp_path / "run" / "grid.csv").read_text().splitlines()[1]
    assert header == "x0,u,residual"
    np.save(tmp_path / "at.npy", np.array([[0.25], [0.5]]))
    assert run_cli("export", "run", "--at", "at.npy", cwd=tmp_path).returncode == 0
    at = np.load(tmp_path / "run" / "points.npz")
    assert np.allclose(at["u"], np.sin(np.pi * np.array([0.25, 0.5])), atol=2e-3)


def test_a_space_time_residual_pde_exports_on_a_time_grid(tmp_path):
    write(tmp_path / "heat.py", HEAT_FILE)
    result = run_cli("solve", "heat.py", "--quiet", "--out", "run", cwd=tmp_path)
    assert result.returncode == 1 and "status not_converged" in result.stdout  # 20 Adam steps: the status says so
    assert run_cli("export", "run", "--points", "5", "--times", "3", cwd=tmp_path).returncode == 0
    data = np.load(tmp_path / "run" / "grid.npz")
    assert data["t"].tolist() == [0.0] * 5 + [0.25] * 5 + [0.5] * 5 and data["u"].shape == (15,)


@pytest.mark.parametrize("body, message", [
    ("residual=lambda x, u, D: D.dxx(0).repeat(1, 3)", "returned shape (8, 3); expected (8, 1)"),
    ("residual=lambda x, u, D: D.dxx(0), conditions=[Dirichlet(0.0, on='x2_hi')]",
     "unknown part of the boundary 'x2_hi'"),
    ("residual=lambda x, u, D: D.dxx(0), conditions=[Periodic(0), Neumann(0.0)]", "every axis is periodic"),
    ("residual=lambda x, u, D: D.dt()", "dt() needs a SpaceTime domain"),
    ("residual=lambda x, u, D: 1 / 0", "calling the residual on sample points raised ZeroDivisionError"),
])
def test_a_bad_residual_pde_exits_2_before_training_and_writes_nothing(tmp_path, body, message):
    source = ("from hjb.geometry import Box\nfrom hjb.pdes.conditions import Dirichlet, Neumann, Periodic\n"
              "from hjb.pdes.residual_pde import ResidualPDE\n"
              f"pde = ResidualPDE(name='bad', domain=Box([0.0], [1.0]), {body})\n")
    write(tmp_path / "bad.py", source)
    result = run_cli("solve", "bad.py", "--out", "run", cwd=tmp_path)
    assert result.returncode == 2 and message in error_line(result)
    assert not (tmp_path / "run").exists()
