"""The `hjb` command line, run as `python -m hjb.cli`: the happy path end to end, and each bad input → exit 2
with one `hjb: error: …` line on stderr."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from tiny_solver import LQR1D_FILE, TINY, TINY_SETTINGS, error_line, hand_built, run_cli, write

from hjb.cli import main
from hjb.io.rundir import load_run, save_run
from hjb.pdes import seed_lqr
from hjb.validation import suites

# Finite under the start a ≡ 0 (so the checks before training pass), NaN once the policy acts: PI iteration 2 diverges.
NAN_REWARD_FILE = (
    "import torch\nfrom hjb.pdes import ControlProblem, seed_lqr\nfrom hjb.settings import SolverSettings\n"
    "b = seed_lqr()\n"
    "def reward(x, a):\n    return torch.where(a == 0, b.reward(x, a), torch.full_like(a, float('nan')))\n"
    "problem = ControlProblem(name='nan_reward', drift=b.drift, diffusion=b.diffusion, reward=reward,\n"
    "                         discount=0.1, domain=b.domain, action_dim=1, greedy_action=b.greedy_action)\n"
    f"settings = SolverSettings(**{ {**TINY, 'max_iterations': 2}!r})\n"
)
# NaN on part of the box under the start itself: refused before training, nothing written.
NAN_ON_PART_FILE = (
    "import torch\nfrom hjb.pdes import ControlProblem, seed_lqr\n"
    "b = seed_lqr()\n"
    "def reward(x, a):\n    return torch.where(x > 1.5, torch.full_like(x, float('nan')), b.reward(x, a))\n"
    "problem = ControlProblem(name='nan_part', drift=b.drift, diffusion=b.diffusion, reward=reward,\n"
    "                         discount=0.1, domain=b.domain, action_dim=1, greedy_action=b.greedy_action)\n"
)



@pytest.fixture
def run_dir(tmp_path):
    """A run directory written without training (hand-built solution) for the export commands."""
    return save_run(hand_built(seed_lqr()), tmp_path / "run", write(tmp_path / "lqr.py", LQR1D_FILE))


def test_list():
    result = run_cli("list")
    assert result.returncode == 0, result.stderr
    for name in ("lqr1d", "merton", "StochasticLQR", "Merton", "quick", "full", "lqr2d", "lqr5d", "merton_gamma05"):
        assert name in result.stdout


def test_solve_then_export(tmp_path):
    write(tmp_path / "lqr.py", LQR1D_FILE)
    result = run_cli("solve", "lqr.py", "--quiet", "--seed", "3", cwd=tmp_path)
    # One PI iteration cannot settle: the run is written, its status says so, and the exit code is 1.
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    run = tmp_path / "runs" / "lqr1d"  # the default run directory
    assert "1 PI iterations, status not_converged" in result.stdout and "runs/lqr1d" in result.stdout
    marker = json.loads((run / "hjb-run.json").read_text())
    assert marker["problem"]["name"] == "lqr1d" and marker["iterations"] == 1 and marker["status"] == "not_converged"
    assert json.loads((run / "settings.json").read_text()) == TINY_SETTINGS.replace(seed=3).to_dict()
    result = run_cli("export", str(run), "--format", "npz", "--points", "9")
    assert result.returncode == 0, result.stderr
    with np.load(run / "grid.npz") as data:
        assert data["x"].shape == (9, 1) and data["policy"].shape == (9, 1)
        np.testing.assert_allclose(data["value"], load_run(run).value(data["x"]))


def test_solve_progress_goes_to_stderr(tmp_path):
    write(tmp_path / "lqr.py", LQR1D_FILE)
    result = run_cli("solve", "lqr.py", "--out", "custom", cwd=tmp_path, progress=True)
    assert result.returncode == 1, result.stderr
    assert "PI 1/1" in result.stderr and (tmp_path / "custom" / "hjb-run.json").is_file()
    assert "1/1 [" in result.stderr  # the tqdm bar over PI iterations, with its timing
    assert "Warning" not in result.stderr


def test_progress_is_quiet_when_stderr_is_not_a_terminal(tmp_path):
    write(tmp_path / "lqr.py", LQR1D_FILE)
    result = run_cli("solve", "lqr.py", "--out", "custom", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr == "", result.stderr


def test_actor_solve_prints_no_warnings(tmp_path):
    write(tmp_path / "actor.py", LQR1D_FILE + "problem.greedy_action = None\n")
    result = run_cli("solve", "actor.py", "--quiet", "--out", "run", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr == "", result.stderr
    assert load_run(tmp_path / "run").policy.kind == "actor"


@pytest.mark.parametrize("existing", ["file", "directory"])
def test_out_that_cannot_become_a_run_directory_fails_before_solving(tmp_path, existing):
    write(tmp_path / "lqr.py", "from hjb.pdes import seed_lqr\nproblem = seed_lqr()\n")  # default settings: minutes
    target = tmp_path / "taken"
    if existing == "file":
        target.write_text("keep me")
    else:
        target.mkdir()
        (target / "notes.txt").write_text("keep me")
    result = run_cli("solve", "lqr.py", "--out", "taken", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "taken exists and is not" in error_line(result)  # one line, and no progress line: nothing trained
    assert (target.read_text() if existing == "file" else (target / "notes.txt").read_text()) == "keep me"


def test_nan_reward_on_part_of_the_box_fails_before_training(tmp_path):
    write(tmp_path / "nan.py", NAN_ON_PART_FILE)
    result = run_cli("solve", "nan.py", "--out", "run", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    line = error_line(result)
    assert "reward is not finite under the initial policy at x = [" in line and not (tmp_path / "run").exists()
    assert float(line.split("x = [")[1].split("]")[0]) > 1.5


def test_export_netcdf_and_csv(run_dir, tmp_path):
    result = run_cli("export", str(run_dir), "--format", "netcdf", "--out", str(tmp_path / "v.nc"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "v.nc").is_file()
    assert run_cli("export", str(run_dir), "--format", "csv").returncode == 0
    assert len((run_dir / "grid.csv").read_text().splitlines()) == 103


def test_missing_file(tmp_path):
    result = run_cli("solve", "missing.py", cwd=tmp_path)
    assert result.returncode == 2
    assert error_line(result) == "hjb: error: PDE file not found: missing.py"


def test_file_without_problem(tmp_path):
    write(tmp_path / "empty.py", "x = 1\n")
    result = run_cli("solve", "empty.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "defines no module-level `problem` or `pde`" in error_line(result)


def test_drift_of_the_wrong_shape(tmp_path):
    write(tmp_path / "shape.py", (
        "import torch\nfrom hjb.pdes import ControlProblem, seed_lqr\nb = seed_lqr()\n"
        "problem = ControlProblem(name='bad', drift=lambda x, a: torch.cat([x, x], 1), diffusion=b.diffusion,\n"
        "                         reward=b.reward, discount=0.1, domain=b.domain, action_dim=1)\n"
    ))
    result = run_cli("solve", "shape.py", cwd=tmp_path)
    assert result.returncode == 2
    line = error_line(result)
    assert "drift" in line and "(5, 2)" in line and "(5, 1)" in line


def test_non_positive_discount(tmp_path):
    write(tmp_path / "disc.py", "from hjb.pdes import StochasticLQR\n"
                                "problem = StochasticLQR([[-0.5]], [[1]], [[1]], [[0.1]], [[0.3]], discount=-0.1)\n")
    result = run_cli("solve", "disc.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "discount must be a positive number" in error_line(result)


def test_infeasible_merton(tmp_path):
    write(tmp_path / "merton.py", "from hjb.pdes import Merton\nproblem = Merton(gamma=0.5, discount=0.01)\n")
    result = run_cli("solve", "merton.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "infeasible Merton parameters" in error_line(result)


def test_nan_during_training(tmp_path):
    write(tmp_path / "nan.py", NAN_REWARD_FILE)
    result = run_cli("solve", "nan.py", "--quiet", "--out", "run", cwd=tmp_path)
    assert result.returncode == 2
    assert "PI iteration 2" in error_line(result)
    marker = json.loads((tmp_path / "run" / "hjb-run.json").read_text())
    assert marker["status"] == "diverged"
    assert load_run(tmp_path / "run").status == "diverged"


def test_unknown_suite():
    result = run_cli("validate", "--suite", "nightly")
    assert result.returncode == 2
    assert error_line(result) == "hjb: error: unknown validation suite 'nightly'; expected one of quick, full"


def test_unknown_case():
    result = run_cli("validate", "--suite", "quick", "--case", "lqr1d", "--case", "lqr3d")
    assert result.returncode == 2
    assert error_line(result).startswith("hjb: error: unknown case 'lqr3d' in suite 'quick'; expected one of lqr1d, ")


def test_unknown_format(run_dir):
    result = run_cli("export", str(run_dir), "--format", "xlsx")
    assert result.returncode == 2
    assert error_line(result) == "hjb: error: unknown export format 'xlsx'; expected one of npz, csv, netcdf"


def test_not_a_run_directory(tmp_path):
    result = run_cli("export", str(tmp_path))
    assert result.returncode == 2
    assert error_line(result) == (
        f"hjb: error: {tmp_path} is not an hjb run directory (no hjb-run.json); expected the output of `hjb solve`"
    )


def test_usage_error_exits_2():
    assert run_cli("solve").returncode == 2


@pytest.mark.parametrize("tolerance, expected_rc", [(1e9, 0), (1e-12, 1)])
def test_validate_with_a_tiny_suite(tmp_path, monkeypatch, capsys, tolerance, expected_rc):
    case = dataclasses.replace(
        suites.get_suite("quick")[0], settings=TINY_SETTINGS, grid_points=21,
        tolerances={"value_rel_l2": tolerance, "policy_rel_l2": tolerance},
    )
    monkeypatch.setitem(suites.SUITES, "tiny", [case])
    rc = main(["validate", "--suite", "tiny", "--out", str(tmp_path), "--quiet", "--seed", "1"])
    assert rc == expected_rc
    out = capsys.readouterr().out
    assert "lqr1d" in out and ("PASS" if expected_rc == 0 else "FAIL") in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["passed"] is (expected_rc == 0) and report["seed"] == 1
    (result,) = report["cases"]
    assert result["name"] == "lqr1d" and result["iterations"] == 1 and result["settings"]["seed"] == 1
    assert {"value_rel_l2", "policy_rel_l2", "max_abs_hjb_residual", "seconds"} <= set(result)
    assert "| lqr1d |" in (tmp_path / "report.md").read_text()
    for kind in ("value", "policy", "convergence"):
        assert (tmp_path / f"lqr1d_{kind}.png").is_file()


def test_validate_runs_only_the_named_cases(tmp_path, monkeypatch, capsys):
    first, second = (dataclasses.replace(suites.get_suite("quick")[0], name=name, settings=TINY_SETTINGS,
                                         grid_points=21, tolerances={"value_rel_l2": 1e9}) for name in ("a", "b"))
    monkeypatch.setitem(suites.SUITES, "tiny", [first, second])
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--suite", "tiny", "--case", "b", "--quiet"]) == 0
    report = json.loads((tmp_path / "runs" / "validation" / "tiny-b" / "report.json").read_text())
    assert [case["name"] for case in report["cases"]] == ["b"] and report["only"] == ["b"]
    assert "suite tiny (only b): all cases passed" in capsys.readouterr().out
