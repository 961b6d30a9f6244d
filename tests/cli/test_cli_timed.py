"""`hjb solve / export` on time-dependent problems from PDE files: a time-periodic discounted problem (the periodic
LQR) end to end (the run reloads, the exported (t, x) grid is periodic in t: V(·, 0) = V(·, τ), built into the network;
a non-positive period is refused in one line with nothing written), and a deterministic one says what it solves."""
from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_solver import error_line, run_cli, write

from hjb.io.rundir import load_run

PERIODIC_FILE = (
    "from hjb.pdes.timed_lqr import periodic_lqr\n"
    "from hjb.settings import FiniteHorizonSettings\n"
    "problem = periodic_lqr([[-0.5]], [[1.0]], [[1.0]], [[0.1]], [[0.3]], discount=0.5, period={period},"
    " amplitude=0.5, name='periodic1d')\n"
    "settings = FiniteHorizonSettings(width=16, collocation=128, adam_steps_first=200, adam_steps=50, pde_lbfgs_steps=50,"
    " max_iterations=2)\n"
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("periodic")
    write(root / "periodic.py", PERIODIC_FILE.format(period=2.0))
    result = run_cli("solve", "periodic.py", "--out", "run", cwd=root, timeout=300)
    marker = json.loads((root / "run" / "hjb-run.json").read_text())
    assert result.returncode == (0 if marker["status"] == "converged" else 1), result.stderr
    assert f"solved periodic1d (periodic, τ = 2, ρ = 0.5): 2 PI iterations, status {marker['status']}" in result.stdout
    assert "deterministic" not in result.stdout
    return root / "run"


def test_marker_describes_the_period_and_the_run_reloads(run):
    marker = json.loads((run / "hjb-run.json").read_text())
    assert marker["kind"] == "finite_horizon" and marker["horizon"] == 2.0
    assert marker["problem"]["kind"] == "PeriodicProblem" and marker["problem"]["period"] == 2.0
    assert marker["problem"]["discount"] == 0.5
    solution = load_run(run)
    xt = np.c_[np.linspace(-2, 2, 9), np.linspace(0, 2, 9)]
    assert np.all(np.isfinite(solution.value(xt)))


def test_export_is_periodic_in_time(run):
    result = run_cli("export", str(run), "--points", "21", "--times", "5", "--format", "npz", "--out",
                     str(run / "grid.npz"))
    assert result.returncode == 0, result.stderr
    grid = np.load(run / "grid.npz")
    t, value = grid["t"].reshape(5, 21), grid["value"].reshape(5, 21)
    assert t[0, 0] == 0.0 and t[-1, 0] == 2.0
    np.testing.assert_allclose(value[0], value[-1], rtol=1e-12, atol=1e-12)
    assert np.max(np.abs(value[2] - value[0])) > 1e-6  # it does depend on t


@pytest.mark.parametrize("period", ["0.0", "-1.0"])
def test_non_positive_period_is_one_line_and_writes_nothing(tmp_path, period):
    write(tmp_path / "bad.py", PERIODIC_FILE.format(period=period))
    result = run_cli("solve", "bad.py", "--out", "out", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert error_line(result) == f"hjb: error: PDE file bad.py: the period τ must be a positive number; got {period}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.py"]


DETERMINISTIC_FILE = (
    "import numpy as np\n"
    "from hjb.pdes.timed_lqr import finite_horizon_lqr\n"
    "from hjb.settings import FiniteHorizonSettings\n"
    "problem = finite_horizon_lqr([[-0.5]], [[1.0]], [[1.0]], [[0.1]], np.zeros((1, 1)), [[1.0]], 1.0, discount=0.2,"
    " name='det1d')\n"
    "settings = FiniteHorizonSettings(width=8, collocation=64, adam_steps_first=50, adam_steps=20, pde_lbfgs_steps=20,"
    " max_iterations=2)\n"
)


def test_a_deterministic_problem_says_what_is_solved(tmp_path):
    write(tmp_path / "det.py", DETERMINISTIC_FILE)
    result = run_cli("solve", "det.py", "--out", "run", cwd=tmp_path, timeout=300)
    assert result.returncode in (0, 1), result.stderr
    assert "solved det1d (finite horizon T = 1, ρ = 0.2): 2 PI iterations" in result.stdout
    assert "deterministic (Σ ≡ 0): V approximates the viscosity solution of the first-order HJB" in result.stdout
    marker = json.loads((tmp_path / "run" / "hjb-run.json").read_text())
    assert marker["problem"]["deterministic"] is True and marker["problem"]["discount"] == 0.2
