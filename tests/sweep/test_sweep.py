"""`hjb sweep`: a tiny Merton sweep on a 2-worker LocalCluster gives, cell by cell, exactly the numbers of the same
solve run here, reports a failing cell in its cell, and refuses bad --param options before any solve."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from tiny_solver import SETTINGS_LINE, error_line, run_cli, write

from hjb.errors import ProblemError
from hjb.sweep.cell import solve_cell
from hjb.sweep.params import cells, check_signature, parse_params
from hjb.sweep.run import run_sweep

SWEEP_FILE = ("from hjb.pdes import Merton\nfrom hjb.settings import SolverSettings\n" + SETTINGS_LINE
              + "def make_problem(gamma, discount=0.05):\n    return Merton(gamma=gamma, discount=discount)\n")


def test_tiny_sweep_on_a_local_cluster_matches_the_solves_run_here(tmp_path):
    path = write(tmp_path / "merton_sweep.py", SWEEP_FILE)
    params = {"gamma": [2.0, 1.0, 3.0], "discount": [0.05, 0.1]}  # γ = 1 is refused by Merton: a failed cell
    dataset, summary = run_sweep(path, params, tmp_path / "out", points=7, jobs=2, progress=False)
    saved = xr.load_dataset(tmp_path / "out" / "sweep.nc", engine="scipy")
    assert saved.identical(dataset) and (tmp_path / "out" / "summary.md").read_text().strip() == summary
    assert dict(dataset.sizes) == {"gamma": 3, "discount": 2, "wealth": 7, "action": 2}
    np.testing.assert_allclose(dataset["wealth"], np.linspace(0.2, 12.5, 7))
    source = path.read_text()
    for cell in cells(params):
        at = dataset.sel(cell)
        if cell["gamma"] == 1.0:
            assert at["status"].item() == "failed" and "gamma must be > 0 and ≠ 1" in at["error"].item()
            assert np.isnan(at["value"]).all()
            continue
        here = solve_cell(str(path), source, cell, None, 7, None)
        assert at["status"].item() == here["status"] and at["iterations"].item() == here["iterations"]
        np.testing.assert_array_equal(at["value"].values, here["value"])
        np.testing.assert_array_equal(at["policy"].values, here["policy"])
        np.testing.assert_array_equal(at["hjb_residual"].values, here["hjb_residual"])
        assert at["hjb_residual_rms"].item() == here["hjb_residual_rms"]


def test_a_cell_whose_make_problem_raises_any_error_is_reported_in_its_cell(tmp_path):
    path = write(tmp_path / "buggy.py", "def make_problem(gamma):\n    return {'gamma': gamma}['rho']\n")
    result = solve_cell(str(path), path.read_text(), {"gamma": 2.0}, None, 5, None)
    assert result["status"] == "failed" and result["error"] == "KeyError: 'rho'"


def test_params_are_parsed_into_cells_last_name_fastest():
    params = parse_params(["gamma=2,3", "rho=0.04, 0.06"])
    assert params == {"gamma": [2, 3], "rho": [0.04, 0.06]}
    assert cells(params) == [{"gamma": 2, "rho": 0.04}, {"gamma": 2, "rho": 0.06}, {"gamma": 3, "rho": 0.04},
                             {"gamma": 3, "rho": 0.06}]


@pytest.mark.parametrize("options, message", [
    (["gamma"], "--param 'gamma' is malformed; expected NAME=V1,V2"),
    (["gamma=2", "gamma=3"], "--param gamma is given twice"),
    (["gamma=2,two"], "--param gamma: 'two' is not a number"),
    (["gamma=2,2"], "--param gamma repeats a value"),
    ([], "a sweep needs at least one --param"),
])
def test_bad_params_are_refused(options, message):
    with pytest.raises(ProblemError, match=message):
        parse_params(options)


def test_a_name_make_problem_does_not_take_is_refused():
    def make_problem(gamma, discount=0.05):
        return None

    with pytest.raises(ProblemError, match="make_problem has no parameter 'gama'; it accepts: gamma, discount"):
        check_signature(make_problem, {"gama": [2]})
    with pytest.raises(ProblemError, match="missing a required argument: 'gamma'"):
        check_signature(make_problem, {"discount": [0.1]})


def test_cli_refuses_an_unknown_parameter_before_solving(tmp_path):
    write(tmp_path / "sweep.py", SWEEP_FILE)
    result = run_cli("sweep", "sweep.py", "--param", "gama=2,3", cwd=tmp_path)
    assert result.returncode == 2
    assert error_line(result) == "hjb: error: make_problem has no parameter 'gama'; it accepts: gamma, discount"
    assert not (tmp_path / "runs").exists()


def test_cli_refuses_a_file_without_make_problem(tmp_path):
    write(tmp_path / "plain.py", "from hjb.pdes import Merton\nproblem = Merton()\n")
    result = run_cli("sweep", "plain.py", "--param", "gamma=2", cwd=tmp_path)
    assert result.returncode == 2 and "defines no function `make_problem`" in error_line(result)
